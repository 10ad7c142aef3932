// One layer blob, from its bytes to entries in the root, with both of its
// digests checked: the blob's own (as stored, maybe compressed) and its
// diff_id (the uncompressed tar), each over every byte of the stream.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"
#include "image/digest.hpp"
#include "image/layer_apply.hpp"
#include "image/stream.hpp"

namespace lightvm::image {

struct LayerCheck {
    std::optional<Digest> blob;  // none: a docker-archive member not named by its digest
    int64_t blob_size = -1;      // -1: not known
    Digest diff_id;
    std::string label;           // "layer 2 of 3", for errors
};

// The blob's digest did not match: one line naming it.
tl::unexpected<Error> digest_mismatch(const Digest& expected, const Digest& actual, const std::string& label);

// Reads `blob` to its end and applies the layer through `applier`. A
// corrupt blob is reported as a digest mismatch even when the damage
// first shows as a decompression or tar error.
Result<void> apply_layer(Reader& blob, const LayerCheck& check, LayerApplier& applier);

}  // namespace lightvm::image
