#include "image/layer.hpp"

#include "image/archive_io.hpp"

namespace lightvm::image {

namespace {

Result<void> apply_entries(Reader& tar_bytes, const LayerCheck& check, LayerApplier& applier) {
    auto tar = TRY(ArchiveInput::open(tar_bytes, ArchiveInput::Kind::Tar, check.label));
    applier.begin_layer();
    while (archive_entry* e = TRY(tar->next_entry()))
        if (auto applied = applier.apply(tar->get(), e); !applied)
            return make_error(applied.error().kind == ErrorKind::System ? ErrorKind::System : ErrorKind::BadInput,
                              check.label, applied.error().to_string());
    return {};
}

Result<void> unpack(HashingReader& blob, const LayerCheck& check, LayerApplier& applier) {
    auto plain_in = TRY(ArchiveInput::open(blob, ArchiveInput::Kind::Decompress, check.label));
    if (!TRY(plain_in->next_entry()))
        return make_error(ErrorKind::BadInput, check.label, "empty blob");
    EntryReader plain(*plain_in);
    HashingReader tar_bytes(plain);
    auto applied = apply_entries(tar_bytes, check, applier);
    // The tar's end blocks and padding count for the diff_id; after a tar
    // error, the rest says whether the layer was damaged.
    auto drained = drain(tar_bytes);
    if (drained) {
        Digest diff = tar_bytes.finish();
        if (diff != check.diff_id)
            return make_error(ErrorKind::BadInput, "image",
                              "layer " + check.diff_id.str() + " (" + check.label +
                                  "): diff_id mismatch, the uncompressed layer is " + diff.str());
    }
    TRY(applied);
    return drained;
}

}  // namespace

tl::unexpected<Error> digest_mismatch(const Digest& expected, const Digest& actual, const std::string& label) {
    return make_error(ErrorKind::BadInput, "image",
                      "blob " + expected.str() + " (" + label + "): digest mismatch, its content is " + actual.str());
}

Result<void> apply_layer(Reader& blob, const LayerCheck& check, LayerApplier& applier) {
    HashingReader hashed(blob);
    auto unpacked = unpack(hashed, check, applier);
    // The whole blob counts, also after an error: damage is named as such.
    auto drained = drain(hashed);
    if (check.blob && drained) {
        Digest actual = hashed.finish();
        if (actual != *check.blob)
            return digest_mismatch(*check.blob, actual, check.label);
    }
    TRY(unpacked);
    TRY(drained);
    if (check.blob_size >= 0 && hashed.size() != static_cast<uint64_t>(check.blob_size))
        return make_error(ErrorKind::BadInput, "image",
                          "blob " + check.blob->str() + " (" + check.label + "): " + std::to_string(hashed.size()) +
                              " bytes, the manifest says " + std::to_string(check.blob_size));
    return {};
}

}  // namespace lightvm::image
