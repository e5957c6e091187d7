import { Session } from "node:inspector/promises";

/**
 * How many objects whose prototype is `prototype` are alive in this process, after a full collection (what V8's
 * inspector counts for `queryObjects`): lets a test see that a component lets go of what it no longer needs.
 */
export async function liveInstances(prototype: object): Promise<number> {
  const session = new Session();
  session.connect();
  const probe = Symbol.for("ltictr.test.liveInstancesPrototype");
  const global = globalThis as Record<symbol, unknown>;
  global[probe] = prototype;
  try {
    const { result } = await session.post("Runtime.evaluate", {
      expression: 'globalThis[Symbol.for("ltictr.test.liveInstancesPrototype")]',
    });
    const { objects } = await session.post("Runtime.queryObjects", {
      prototypeObjectId: result.objectId as string,
    });
    const { result: length } = await session.post("Runtime.callFunctionOn", {
      objectId: objects.objectId as string,
      functionDeclaration: "function () { return this.length; }",
      returnByValue: true,
    });
    return length.value as number;
  } finally {
    delete global[probe];
    session.disconnect();
  }
}
