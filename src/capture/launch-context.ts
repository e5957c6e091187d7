/** What an LTI 1.1 launch from mod_lticontainer tells the proxy (the `custom_lms_*` parameters). */
export interface LaunchContext {
  /** lticontainer activity id (`custom_lms_sessioninfo` = `<inst_id>,<lti_id>`). */
  instId: string;
  /** LTI activity id. */
  ltiId: string;
  /** `custom_lms_serverurl`, decoded, e.g. `https://moodle.example:443`. */
  serverUrl: string;
  /** `custom_lms_serverpath`, decoded, e.g. `/moodle` or empty. */
  serverPath: string;
  /** `custom_lms_rpctoken`: the Moodle web-service token. Never sent to a browser in clear. */
  rpcToken: string;
}
