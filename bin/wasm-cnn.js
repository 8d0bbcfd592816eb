#!/usr/bin/env node
// `npx wasm-cnn`: the command line of wasm-cnn (web/node/cli.js). `wasm-cnn --help` lists the commands.
import { main } from '../web/node/cli.js';

// `wasm-cnn info model.wcnn | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
