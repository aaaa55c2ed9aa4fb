#include <iostream>

#include "amr/base/error.h"
#include "amr/base/parse.h"
#include "amr/base/text.h"
#include "amr/seg/segment.h"
#include "commands.h"

namespace amr::cli {

void add_segment(CLI::App& app, const RuntimeFlags& runtime) {
  auto run = std::make_shared<SegmentRun>();
  auto* cmd = app.add_subcommand("segment", "segment images with a trained model (amr train-seg, or the reference's DeepLab .pth)");
  cmd->add_option("--model", run->model, "segmentation model: RUN/model.pt, or a reference checkpoint")->required();
  cmd->add_option("--images", run->images, "a folder of .jpg/.jpeg/.png images (or --data with --list)");
  cmd->add_option("--data", run->data, "a VOC-layout dataset root");
  cmd->add_option("--list", run->list, "ids of --data to segment (e.g. val.txt)");
  cmd->add_option("--out", run->out, "output folder: <name>.png (class indices, VOC palette)")->required();
  cmd->add_option("--scales", run->options.scales, "test scales, comma-separated (default: 1 and the model's MSC scales, as the reference)")
      ->delimiter(',');
  cmd->add_flag("--flip", run->options.flip, "also the mirrored image at each scale");
  cmd->add_option_function<std::string>(
      "--fusion", [run](const std::string& s) { run->options.fusion = parse_seg_fusion(s); },
      "how the scales' logits combine: max (default, the reference's MSC) | mean");
  cmd->add_option_function<std::string>(
      "--precision", [run](const std::string& s) { run->options.bf16 = parse_precision(s); },
      "fp32 (default) | bf16 (autocast; CUDA, or a CPU with AVX512-BF16 / AMX)");
  cmd->add_flag("--crf", run->options.crf, "dense CRF on the probabilities (the reference's test parameters)");
  cmd->add_flag("--probs", run->probabilities, "also OUT/probs/<name>.npz: softmax probabilities [C, H, W]");
  cmd->add_option("--classes", run->num_classes_or_0, "the model must predict this many classes (checked)")->check(at_least(1));
  cmd->add_flag("--resume", run->resume, "skip images whose outputs exist");
  cmd->add_flag("--quiet", run->quiet, "no progress output");
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [run](const Runtime& rt) {
    if (!run->data.empty() && run->list.empty()) throw Error("--data: give the ids to segment with --list");
    const SegmentSummary s = run_segment(*run, rt);
    std::cout << "segmented " << s.written << " images" << (s.skipped ? " (" + std::to_string(s.skipped) + " already done)" : "")
              << " into " << run->out;
    if (s.written > 0) std::cout << " (" << s.seconds_per_image << " s/image)";
    std::cout << "\n";
  });
}

}  // namespace amr::cli
