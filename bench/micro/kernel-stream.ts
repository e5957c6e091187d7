/**
 * Micro-benchmarks of kernel WebSocket inspection, no sockets: the frame parser alone and the whole tap (frame
 * parser → decoder → execution tracker) on the streams scenario 3 of `npm run bench` sends — per direction, 1.4 KB
 * iopub outputs with 1 % execute_reply from the kernel, execute_requests from the browser (masked, as clients
 * must send them) — cut into 64 KiB reads; and both decoders on single messages.
 *
 *   npm run build && node dist/bench/micro/kernel-stream.js [--rounds 15] [--only tap]
 */
import pino from "pino";
import { EXECUTE_REPLY, EXECUTE_REQUEST, executeMarkAt } from "../../src/jupyter/kernel-message.js";
import { LegacyDecoder } from "../../src/jupyter/legacy-decoder.js";
import { V1Decoder } from "../../src/jupyter/v1-decoder.js";
import { V1_SUBPROTOCOL } from "../../src/jupyter/wire-format.js";
import { KernelSocketTap } from "../../src/capture/kernel-socket-tap.js";
import { FrameParser } from "../../src/websocket/frame-parser.js";
import { OP_BINARY, OP_TEXT, encodeFrame } from "../../test/support/frame-builder.js";
import {
  encodeFromClient,
  encodeFromServer,
  executeReply,
  executeRequest,
  isBinaryFormat,
  streamOutput,
  type KernelMessage,
  type WireFormat,
} from "../lib/kernel-messages.js";
import { runMicro, type MicroCase } from "./harness.js";

const READ_BYTES = 64 * 1024;
const CELLS = 20;
const OUTPUTS_PER_CELL = 99;
const SESSION = "3f7e6c1a-9b1d-4c55-8f0e-5b2f1d2c3a4b";
const KERNEL_SESSION = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const KERNEL_ID = "00000000-0000-4000-8000-000000000001";

/** The stream cut into reads of READ_BYTES, as a socket delivers it. */
function reads(frames: Buffer[]): Buffer[] {
  const stream = Buffer.concat(frames);
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += READ_BYTES) out.push(stream.subarray(at, at + READ_BYTES));
  return out;
}

interface Streams {
  requests: KernelMessage[];
  /** Kernel → browser: per cell 99 outputs and the reply. */
  server: Buffer[];
  serverMessages: number;
  /** Browser → kernel: one execute_request per cell, masked. */
  client: Buffer[];
  clientMessages: number;
  /** One encoded message of each kind, for the decoders. */
  request: Buffer;
  reply: Buffer;
  output: Buffer;
}

function streams(format: WireFormat): Streams {
  const opcode = isBinaryFormat(format) ? OP_BINARY : OP_TEXT;
  const maskKey = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const requests = Array.from({ length: CELLS }, (_, i) => executeRequest(SESSION, i + 1));
  const serverFrames: Buffer[] = [];
  requests.forEach((request, i) => {
    const output = encodeFromServer(format, streamOutput(request, KERNEL_SESSION, 1024));
    for (let k = 0; k < OUTPUTS_PER_CELL; k++) serverFrames.push(encodeFrame({ opcode, payload: output }));
    const reply = encodeFromServer(format, executeReply(request, KERNEL_SESSION, i + 1));
    serverFrames.push(encodeFrame({ opcode, payload: reply }));
  });
  const clientFrames = requests.map((request) =>
    encodeFrame({ opcode, payload: encodeFromClient(format, request), maskKey }),
  );
  return {
    requests,
    server: reads(serverFrames),
    serverMessages: serverFrames.length,
    client: reads(clientFrames),
    clientMessages: clientFrames.length,
    request: encodeFromClient(format, requests[0]),
    reply: encodeFromServer(format, executeReply(requests[0], KERNEL_SESSION, 1)),
    output: encodeFromServer(format, streamOutput(requests[0], KERNEL_SESSION, 1024)),
  };
}

function parserCase(name: string, chunks: Buffer[], messages: number, server: boolean): MicroCase {
  return {
    name,
    ops: messages,
    run() {
      let handed = 0;
      const parser = new FrameParser(() => handed++, {
        nextMark: server ? (chunk, from) => executeMarkAt(chunk, EXECUTE_REPLY, from) : undefined,
      });
      for (const chunk of chunks) parser.push(chunk);
      return handed + parser.stats.messages;
    },
  };
}

function tapCase(name: string, format: WireFormat, s: Streams, direction: "server" | "client"): MicroCase {
  // One factory for the process's life, as in the proxy; a tap per socket.
  let records = 0;
  const factory = new KernelSocketTap({
    sink: { accept: () => records++ },
    logger: pino({ level: "silent" }),
  });
  return {
    name,
    ops: direction === "server" ? s.serverMessages : s.clientMessages,
    run() {
      records = 0;
      const tap = factory.tapFor({
        url: `/user/bench/api/kernels/${KERNEL_ID}/channels?session_id=${SESSION}`,
        headers: {},
        routePrefix: "/user/bench",
        routeUser: "bench",
      });
      if (!tap) throw new Error("kernel channel not tapped");
      tap.opened(format === "v1" ? { "sec-websocket-protocol": V1_SUBPROTOCOL } : {});
      if (direction === "server") for (const chunk of s.server) tap.serverBytes(chunk);
      else for (const chunk of s.client) tap.clientBytes(chunk);
      tap.closed();
      return records;
    },
  };
}

function decoderCase(
  name: string,
  format: WireFormat,
  payload: Buffer,
  wanted: typeof EXECUTE_REQUEST | typeof EXECUTE_REPLY,
): MicroCase {
  const decoder = format === "v1" ? new V1Decoder() : new LegacyDecoder();
  const opcode = isBinaryFormat(format) ? 2 : 1;
  const repeat = 2000;
  return {
    name,
    ops: repeat,
    run() {
      let found = 0;
      for (let i = 0; i < repeat; i++) if (decoder.decode(opcode, payload, wanted)) found++;
      return found;
    },
  };
}

const cases: MicroCase[] = [];
for (const format of ["v1", "legacy"] as const) {
  const s = streams(format);
  cases.push(
    parserCase(`frame parser, kernel→browser, ${format} (per message)`, s.server, s.serverMessages, true),
    parserCase(
      `frame parser, browser→kernel masked, ${format} (per message)`,
      s.client,
      s.clientMessages,
      false,
    ),
    tapCase(`tap, kernel→browser, ${format} (per message)`, format, s, "server"),
    tapCase(`tap, browser→kernel, ${format} (per message)`, format, s, "client"),
    decoderCase(`${format} decoder, execute_request`, format, s.request, EXECUTE_REQUEST),
    decoderCase(`${format} decoder, execute_reply`, format, s.reply, EXECUTE_REPLY),
    decoderCase(`${format} decoder, stream output (not wanted)`, format, s.output, EXECUTE_REPLY),
  );
}

runMicro("kernel WebSocket inspection micro-benchmark", cases);
