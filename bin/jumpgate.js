#!/usr/bin/env node
// Thin shim: all behaviour lives in the built CLI so that it can be imported and tested.
import { main } from "../dist/cli/main.js";

await main(process.argv);
