import t from "tap";
import { launchContextOf, moodleDestinationOf } from "../../../src/lti/launch-context.js";
import {
  LAUNCH_BODY_LIMIT,
  customParameter,
  isLaunchCandidate,
  parseLaunchBody,
  parseLaunchForm,
} from "../../../src/lti/lti-launch.js";

/** A launch form the way Moodle posts it: oauth_version first, values URL-encoded. */
const MOODLE_FORM =
  "oauth_version=1.0&oauth_nonce=3c1f2a&oauth_timestamp=1700000000&oauth_consumer_key=jupyter" +
  "&user_id=5&lis_person_sourcedid=&roles=Learner&context_id=2&ext_user_username=bob" +
  "&custom_lms_sessioninfo=6%2C13&custom_lms_serverurl=https%3A%2F%2Fmoodle.example%3A443" +
  "&custom_lms_serverpath=%2Fmoodle&custom_lms_rpctoken=0123456789abcdef0123456789abcdef" +
  "&oauth_signature_method=HMAC-SHA1&oauth_signature=abc%3D";

t.test("a Moodle launch body", async (t) => {
  const context = parseLaunchBody(Buffer.from(MOODLE_FORM));
  t.same(context, {
    instId: "6",
    ltiId: "13",
    serverUrl: "https://moodle.example:443",
    serverPath: "/moodle",
    rpcToken: "0123456789abcdef0123456789abcdef",
  });
  t.same(moodleDestinationOf(context!), {
    baseUrl: "https://moodle.example:443/moodle",
    token: "0123456789abcdef0123456789abcdef",
  });
});

t.test("optional and odd values", async (t) => {
  const bare = parseLaunchBody(Buffer.from("oauth_signature=x&lms_sessioninfo=7,8&lms_serverpath="));
  t.same(
    bare,
    { instId: "7", ltiId: "8", serverUrl: "", serverPath: "", rpcToken: "" },
    "bare names, no Moodle",
  );
  t.equal(moodleDestinationOf(bare!), undefined, "no URL/token → the configured Moodle");

  const slashes = parseLaunchBody(
    Buffer.from(
      "oauth_nonce=1&custom_lms_sessioninfo=1%2C2&custom_lms_serverurl=http%3A%2F%2Fm.example%3A80%2F&custom_lms_serverpath=%2F&custom_lms_rpctoken=ab",
    ),
  );
  t.same(
    moodleDestinationOf(slashes!),
    { baseUrl: "http://m.example:80", token: "ab" },
    "trailing slashes dropped",
  );

  const hostile = parseLaunchBody(
    Buffer.from(
      "oauth_nonce=1&custom_lms_sessioninfo=1%2C2&custom_lms_serverurl=file%3A%2F%2F%2Fetc%2Fpasswd&custom_lms_serverpath=moodle%3Fx&custom_lms_rpctoken=ab",
    ),
  );
  t.equal(hostile?.serverUrl, "", "non-http server URL dropped");
  t.equal(hostile?.serverPath, "", "relative path dropped");
  t.equal(moodleDestinationOf(hostile!), undefined);

  t.same(
    launchContextOf({
      sessionInfo: " 6 , ",
      serverUrl: undefined,
      serverPath: undefined,
      rpcToken: undefined,
    }),
    {
      instId: "6",
      ltiId: "",
      serverUrl: "",
      serverPath: "",
      rpcToken: "",
    },
  );
});

t.test("bodies that are not mod_lticontainer launches", async (t) => {
  t.equal(parseLaunchBody(Buffer.from("custom_lms_sessioninfo=6%2C13")), undefined, "no oauth fields");
  t.equal(parseLaunchBody(Buffer.from("oauth_version=1.0&user_id=3")), undefined, "no sessioninfo");
  t.equal(
    parseLaunchBody(Buffer.from("oauth_version=1.0&custom_lms_sessioninfo=abc%2C1")),
    undefined,
    "ids not numeric",
  );
  t.equal(
    parseLaunchBody(Buffer.from("oauth_version=1.0&custom_lms_sessioninfo=")),
    undefined,
    "empty sessioninfo",
  );
  t.equal(parseLaunchBody(Buffer.from([0xff, 0xfe, 0x00, 0x25, 0x25])), undefined, "binary garbage");
  t.equal(
    parseLaunchBody(Buffer.from("oauth_x=%E0%A4%A&custom_lms_sessioninfo=%ZZ")),
    undefined,
    "bad escapes",
  );
  const big = Buffer.alloc(LAUNCH_BODY_LIMIT + 1, 0x61);
  Buffer.from(MOODLE_FORM + "&").copy(big);
  t.equal(parseLaunchBody(big), undefined, "over the body limit");
  t.equal(LAUNCH_BODY_LIMIT, 256 * 1024);
});

t.test("which requests are launch candidates", async (t) => {
  const form = { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" };
  t.ok(isLaunchCandidate("POST", form));
  t.ok(isLaunchCandidate("POST", { "content-type": "Application/X-WWW-Form-Urlencoded" }));
  t.notOk(isLaunchCandidate("GET", form));
  t.notOk(isLaunchCandidate("POST", { "content-type": "application/json" }));
  t.notOk(isLaunchCandidate("POST", {}));
});

t.test("the whole launch, as the LTI authenticator keeps it in auth_state", async (t) => {
  const launch = parseLaunchForm(
    "oauth_nonce=1&context_id=2&custom_lms_vol_a=link%3Aalice%2Cbob&context_id=3&user_id=5&custom_lms_sub_a_close=",
  );
  t.equal(launch.signed, true, "oauth fields mark a signed launch");
  t.same(
    [...launch.parameters.keys()],
    ["context_id", "custom_lms_vol_a", "user_id", "custom_lms_sub_a_close"],
    "form order, oauth_* left out",
  );
  t.equal(launch.parameters.get("context_id"), "2", "the first of repeated fields wins");
  t.equal(launch.parameters.get("custom_lms_vol_a"), "link:alice,bob", "values decoded");
  t.equal(launch.parameters.get("custom_lms_sub_a_close"), "", "empty values kept");
  t.equal(
    customParameter(launch.parameters, "lms_vol_a"),
    "link:alice,bob",
    "custom_ prefix optional for readers",
  );
  t.equal(parseLaunchForm("context_id=2").signed, false, "no oauth field: not a launch");
});
