#ifndef MNEMO_CORE_INIT_H_
#define MNEMO_CORE_INIT_H_

#include <cstdint>

#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

// Fills a fan_in x fan_out weight matrix as `init` says, from a generator
// seeded with `seed` alone: the same (init, shape, seed) gives the same bits
// on every run and machine (no std:: distributions, whose output is
// implementation-defined).
void InitializeWeights(const config::Init& init, uint64_t seed, Tensor* weights);

// A seed for stream `stream` derived from `seed` (SplitMix64), so layers,
// shuffling and dropout draw independent numbers from one run seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace mnemo

#endif  // MNEMO_CORE_INIT_H_
