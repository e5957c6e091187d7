// The project's single free-port helper; the bench uses it rather than keeping its own copy.
export { freePort } from "../../test/support/ports.js";
