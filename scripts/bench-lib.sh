# Helpers sourced by the demo and the benchmarks (bash).

# The widest of the CPU's vector ISAs that matter for speed (benchmarks print which one they ran on).
cpu_isa() {
  local f
  for f in avx512_bf16 avx512f avx2; do grep -qw "$f" /proc/cpuinfo && { echo "$f"; return; }; done
  echo "no AVX2"
}

# Minutes since the epoch seconds $1, with $2 decimals (default 0).
minutes_since() { awk -v s="$1" -v e="$(date +%s)" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, (e - s) / 60 }'; }
