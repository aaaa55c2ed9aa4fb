#pragma once
#include <string>

// The model's option enums, in a light header (no LibTorch) so that configs can hold them.
namespace amr {

// How the backbone's BatchNorm layers behave.
//  frozen      running statistics always, affine frozen (ImageNet init, paper recipe);
//  fixed-stats running statistics always, affine trained (the official code's FixedBatchNorm);
//  train       ordinary BatchNorm: batch statistics in training, running ones in eval.
enum class BnMode { Frozen, FixedStats, Train };
BnMode parse_bn_mode(const std::string& s);  // throws naming --bn
std::string to_string(BnMode m);

// Which parameters the AMR loss trains.
//  official  as the official code: the spotlight backbone and logits are detached, so the
//            spotlight classifier learns only through the CPS term; the compensation
//            branch's conv1+bn1+layer1 are frozen;
//  joint     both branches are trained by every term.
enum class Routing { Official, Joint };
Routing parse_routing(const std::string& s);  // throws naming --routing
std::string to_string(Routing r);

// Gaussian threshold modulation mode (seed report Eq. 9), see GaussianThreshold.
enum class TauMode { Relative, Absolute };
TauMode parse_tau_mode(const std::string& s);  // throws naming --tau-mode
std::string to_string(TauMode m);

// What training keeps for backward.
//  store       every activation (fastest);
//  checkpoint  only each trained compensation block's input: backward recomputes the block
//              (activation checkpointing; less memory, one more forward of those blocks).
enum class MemoryMode { Store, Checkpoint };
MemoryMode parse_memory_mode(const std::string& s);  // throws naming --memory
std::string to_string(MemoryMode m);

}  // namespace amr
