import t from "tap";
import { parseKernelChannelUrl } from "../../../src/capture/kernel-channel.js";

const KERNEL = "0f6e3c4a-2b1d-4e5f-8a9b-0c1d2e3f4a5b";

t.test("kernel channel URLs, with and without JupyterHub prefixes", async (t) => {
  t.same(parseKernelChannelUrl(`/api/kernels/${KERNEL}/channels?session_id=abc`), {
    kernelId: KERNEL,
    sessionId: "abc",
  });
  t.same(parseKernelChannelUrl(`/user/bob/api/kernels/${KERNEL}/channels?session_id=s-1`), {
    kernelId: KERNEL,
    sessionId: "s-1",
  });
  t.same(parseKernelChannelUrl(`/user/bob/lab2/api/kernels/${KERNEL}/channels?session_id=s-2&token=secret`), {
    kernelId: KERNEL,
    sessionId: "s-2",
  });
  t.same(
    parseKernelChannelUrl(
      `/hub-prefix/user/a%40b/api/kernels/${KERNEL}/channels?token=x&session_id=a%2Fb%20c`,
    ),
    {
      kernelId: KERNEL,
      sessionId: "a/b c",
    },
  );
  t.same(parseKernelChannelUrl(`https://hub.example/user/bob/api/kernels/${KERNEL}/channels?session_id=z`), {
    kernelId: KERNEL,
    sessionId: "z",
  });
  t.same(parseKernelChannelUrl(`/user/bob/api/kernels/${KERNEL}/channels`), {
    kernelId: KERNEL,
    sessionId: undefined,
  });
  t.same(parseKernelChannelUrl(`/user/bob/api/kernels/${KERNEL}/channels?session_id=`), {
    kernelId: KERNEL,
    sessionId: undefined,
  });
  t.same(
    parseKernelChannelUrl(`/user/bob/api/kernels/${KERNEL}/channels?session_id=%E0%A4%A`),
    {
      kernelId: KERNEL,
      sessionId: "\ufffd%A",
    },
    "malformed escapes are replaced as URLSearchParams does, not thrown",
  );
});

t.test("other WebSockets and paths are not kernel channels", async (t) => {
  for (const url of [
    "/user/bob/terminals/websocket/1",
    "/user/bob/api/events/subscribe",
    `/user/bob/api/collaboration/room/json:notebook:${KERNEL}`,
    `/user/bob/api/kernels/${KERNEL}`,
    `/user/bob/api/kernels/${KERNEL}/channels/extra`,
    `/user/bob/api/kernels/not-a-kernel-id/channels`,
    `/user/bob/api/kernels/${KERNEL}/iopub`,
    `/user/bob/proxy/8080/?x=/api/kernels/${KERNEL}/channels`,
    "",
    "%%%",
  ]) {
    t.equal(parseKernelChannelUrl(url), undefined, url);
  }
});
