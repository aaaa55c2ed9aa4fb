#include <iostream>

#include "amr/data/scenes.h"
#include "commands.h"

namespace amr::cli {

void add_scenes(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<ScenesOptions>();
  auto* cmd = app.add_subcommand(
      "scenes", "generate FashionScenes (multi-object Fashion-MNIST scenes) or PartScenes (body + class part) in VOC layout");
  cmd->add_option("--kind", o->kind, "fashion (default) | parts (PartScenes: large bodies + small class-specific parts)");
  cmd->add_option("--body-signal", o->body_signal,
                  "parts: probability that each body attribute is the class's signature (0: only the part tells the class)")
      ->check(between(0, 1));
  cmd->add_option("--fashion-mnist", o->fashion_mnist_dir, "directory of the Fashion-MNIST IDX .gz files");
  cmd->add_option("--out", o->out, "output dataset root")->required();
  cmd->add_option("--train", o->train, "training scenes (Fashion-MNIST train split)");
  cmd->add_option("--val", o->val, "validation scenes (Fashion-MNIST test split)");
  cmd->add_option("--size", o->size, "scene side in pixels");
  add_parsed(cmd, "--objects", "objects per scene, MIN:MAX", [o](const std::string& v) { parse_objects(v, o.get()); });
  cmd->add_option("--seed", o->seed, "random seed (same seed, same bytes)");
  cmd->add_option("--background", o->background, "textured (default) | flat (one colour per scene)");
  add_parsed(cmd, "--object-scale",
             "object side / scene side, MIN:MAX (default 0.35:0.8 for one object, 0.35:0.6 for several)",
             [o](const std::string& v) { parse_object_scale(v, o.get()); });
  cmd->add_option("--min-contrast", o->min_contrast, "object vs background luminance difference, 0-255 (default 0: any)")
      ->check(between(0, 200));
  auto classes = std::make_shared<std::string>();
  cmd->add_option("--classes", *classes,
                  "classes to draw from, comma list (default: all; parts: disc,triangle,cross,square,star,bar)");
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [o, classes](const Runtime& rt) {
    if (!classes->empty()) o->classes = parse_scene_classes(*classes, o->kind);  // needs --kind, in any order
    generate_scenes(*o, rt);
    std::cout << "wrote " << o->train << " train + " << o->val << " val " << (o->kind == "parts" ? "PartScenes" : "scenes")
              << " (" << o->size << "x" << o->size << ", " << o->min_objects << "-" << o->max_objects << " objects) to "
              << o->out << "\n";
  });
}

}  // namespace amr::cli
