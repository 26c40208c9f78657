#!/usr/bin/env node
import { runCli } from './cli/program.ts';

// Exit explicitly: after a graceful stop nothing (pools, timers) may keep the
// process alive, and on Linux stdout/stderr writes to files and pipes are synchronous.
process.exit(await runCli(process.argv));
