// Proves that decodeMessage() never throws and answers every malformed payload of every
// direction with a ProtocolError, and that FrameDecoder reassembles any chunking of any stream
// exactly as a reference model does, throwing nothing but FrameTooLargeError.
import { codecTarget } from "./codec_target.ts";
import { fuzzInCi } from "./ci_fuzz.ts";
import { frameTarget } from "./frame_target.ts";

Deno.test("decodeMessage() survives 25,000 valid, mutated and random payloads", () => {
  fuzzInCi(codecTarget, 25_000);
});

Deno.test("FrameDecoder matches its model on 15,000 chunked streams with garbage", () => {
  fuzzInCi(frameTarget, 15_000);
});
