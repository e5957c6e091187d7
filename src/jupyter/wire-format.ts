import type { IncomingHttpHeaders } from "node:http";
import type { KernelMessageDecoder } from "./kernel-message.js";
import { LegacyDecoder } from "./legacy-decoder.js";
import { V1Decoder } from "./v1-decoder.js";

export const V1_SUBPROTOCOL = "v1.kernel.websocket.jupyter.org";

export type WireFormat = "v1" | "legacy";

/**
 * The format is whatever the server selected in its 101 response: the browser offers v1, but only the
 * server's answer counts (JupyterLab itself falls back to legacy when the response names no protocol).
 */
export function wireFormatOf(upgradeResponseHeaders: IncomingHttpHeaders): WireFormat {
  const selected = upgradeResponseHeaders["sec-websocket-protocol"];
  return typeof selected === "string" && selected.trim() === V1_SUBPROTOCOL ? "v1" : "legacy";
}

export function decoderFor(format: WireFormat): KernelMessageDecoder {
  return format === "v1" ? new V1Decoder() : new LegacyDecoder();
}
