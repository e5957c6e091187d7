#!/usr/bin/env node
// Thin launcher so the npm `bin` works from a checkout and from an installed package.
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2));
