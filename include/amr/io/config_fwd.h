#pragma once

// The config table types (amr/io/config_table.h), declared for headers that only name them.
namespace amr {
template <typename C>
class ConfigTable;
template <typename C>
class ConfigFlags;
}  // namespace amr
