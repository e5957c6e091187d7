// The project's single free-port helper; the bench uses it rather than keeping its own copy.
export { freePorts, portAccepts } from "../../test/support/ports.js";
