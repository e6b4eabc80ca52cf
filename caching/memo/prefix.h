#ifndef MNEMO_CACHING_MEMO_PREFIX_H_
#define MNEMO_CACHING_MEMO_PREFIX_H_

#include <set>
#include <string>
#include <vector>

#include "caching/memo/lru_memo.h"
#include "core/layer.h"

namespace mnemo::caching::memo {

// The part of a network the memo covers: its leading frozen layers, as long
// as each is known to compute every output row from its input row alone,
// deterministically (so a stored row is exactly what recomputation gives, in
// any batch, in training or evaluation). Known: core's Dense, ReLU, Sigmoid,
// Tanh, LayerNorm and a frozen BatchNorm (which normalises with its running
// statistics; a trainable one uses the batch's and is never covered), by
// class, not by name, so a plugin's look-alike is not taken for them; and
// the plugin types in `declared_pure`.
//
// Returns n such that layers [0, n) are covered: n stops at the first layer
// that is trainable (it changes every step, and the network's backward pass
// needs the activations from there up) or not known to be pure.
int MemoizablePrefix(const std::vector<Layer*>& layers,
                     const std::set<std::string>& declared_pure);

// Identifies the function layers [0, count) compute: each layer's class,
// type, sizes, epsilon (LayerNorm, BatchNorm) and every parameter's and
// buffer's name, shape and values. Two networks whose
// frozen prefixes are equal (a sweep's runs) get equal signatures and share
// entries; any change of a value gives another signature. A declared plugin
// plugin type may hold state that is not a parameter (a Scale factor), so
// its layers are identified by instance as well (their parameter_version, unique
// in the process): correct, but not shared across networks.
//
// Costs one pass over the parameters (a few ms for millions of them): call it
// when a layer's parameter_version changed, not per batch.
Signature PrefixSignature(const std::vector<Layer*>& layers, int count);

}  // namespace mnemo::caching::memo

#endif  // MNEMO_CACHING_MEMO_PREFIX_H_
