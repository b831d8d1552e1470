#pragma once
// The kit's one CBOR reader (RFC 8949) for untrusted input: CoAP payloads (application/cbor,
// SenML CBOR), and any bridge that meets CBOR. libcbor (Debian's libcbor-dev) walks the bytes with
// its streaming decoder; this layer builds the kit's JSON tree (json.h) with the same strictness
// as parseJson, so a bridge reads a CBOR payload and a JSON payload with the same code:
//  - nesting is bounded (JsonLimits::maxDepth, checked before descending: no recursion on input),
//    and so is the whole item (maxBytes); a declared length larger than the data is refused, and
//    nothing is reserved from a declared length;
//  - map keys are text strings or integers (an integer key becomes its decimal text, as SenML CBOR
//    labels need); any other key, and a key twice (after that conversion), are refused;
//  - text strings must be valid UTF-8; byte strings become base64url text (no padding), as SenML
//    JSON writes `vd`; tags are skipped (their content is kept); undefined becomes null;
//  - floats must be finite; exactly one item, nothing after it.
// A Number's `text` is its decimal literal (integers, so isInteger()/asInt() work up to 64 bits)
// or the shortest round-trip form of the float.
// Errors say what failed and at which byte offset, and never echo the input.
//
// Threads: no shared state; any thread may call parseCbor concurrently.
#include <string_view>

#include "gatehouse/kit/json.h"
#include "gatehouse/kit/result.h"

namespace gatehouse::kit {

Result<Json> parseCbor(std::string_view bytes, const JsonLimits& limits = {});

}  // namespace gatehouse::kit
