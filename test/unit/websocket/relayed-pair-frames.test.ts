import t from "tap";
import { FrameParser } from "../../../src/websocket/frame-parser.js";
import { encodeFrame, OP_CONTINUATION, OP_TEXT } from "../../support/frame-builder.js";
import { liveInstances } from "../../support/live-objects.js";
import { waitUntil } from "../../support/wait.js";
import { collect, RecordingOwner, relayed } from "./relayed-pair-harness.js";

/**
 * Without a tap, the relay follows each direction's frames itself so that shutdown never cuts a frame with its close
 * frame; it holds a parser only while a frame or a fragmented message is unfinished. In a file of its own: the count
 * of live parsers must not see other tests' pairs.
 */
const CLOSE_GOING_AWAY = "\x88\x02\x03\xe9";
const KEY = Buffer.from([1, 2, 3, 4]);
const text = (payload: string, fin = true, opcode = OP_TEXT, maskKey?: Buffer) =>
  encodeFrame({ opcode, payload: Buffer.from(payload), fin, maskKey });
const latin1 = (bytes: Buffer) => bytes.toString("latin1");

t.test("a parser is held only while a frame or a fragmented message is unfinished", async (t) => {
  const { browser, kernel } = await relayed(t, new RecordingOwner());
  const atKernel = collect(kernel);
  const atBrowser = collect(browser);
  const parsers = () => liveInstances(FrameParser.prototype);
  const sent = { toKernel: "", toBrowser: "" };
  const send = async (direction: "toKernel" | "toBrowser", bytes: Buffer) => {
    (direction === "toKernel" ? browser : kernel).write(bytes);
    sent[direction] += latin1(bytes);
    const arrived = direction === "toKernel" ? atKernel : atBrowser;
    await waitUntil(() => arrived.text() === sent[direction], `${direction}: relayed`);
  };
  const none = await parsers();

  await send("toKernel", text("hello", true, OP_TEXT, KEY));
  await send("toBrowser", text("world"));
  t.equal(await parsers(), none, "whole frames both ways: no parser held");

  const frame = text("a frame split between reads");
  await send("toBrowser", frame.subarray(0, 9));
  t.equal(await parsers(), none + 1, "half a frame: its direction's parser is held");
  await send("toBrowser", frame.subarray(9));
  t.equal(await parsers(), none, "the frame's end: dropped");

  await send("toKernel", text("first part, ", false, OP_TEXT, KEY));
  t.equal(await parsers(), none + 1, "a fragmented message's first frame: held until the message ends");
  await send("toKernel", text("last part", true, OP_CONTINUATION, KEY));
  t.equal(await parsers(), none, "its last frame: dropped");
});

t.test(
  "shutdown adds its close frame only between frames, with parsers dropped and made again",
  async (t) => {
    const rested = await relayed(t, new RecordingOwner());
    const cut = await relayed(t, new RecordingOwner());
    const atRested = collect(rested.browser);
    const atCut = collect(cut.browser);
    const whole = text("a whole frame");
    rested.kernel.write(whole);
    cut.kernel.write(whole);
    const halfFrame = text("half of this one").subarray(0, 7);
    cut.kernel.write(halfFrame);
    const cutSoFar = latin1(whole) + latin1(halfFrame);
    await waitUntil(() => atRested.text() === latin1(whole) && atCut.text() === cutSoFar, "frames relayed");

    rested.pair.closeGoingAway(1000);
    cut.pair.closeGoingAway(1000);
    await waitUntil(
      () => rested.browser.readableEnded && cut.browser.readableEnded,
      "both browsers see the end",
    );
    t.equal(
      atRested.text(),
      latin1(whole) + CLOSE_GOING_AWAY,
      "after a whole frame: the close frame follows",
    );
    t.equal(atCut.text(), cutSoFar, "inside a frame: nothing added, so the frame is not cut");
  },
);
