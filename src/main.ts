#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Modules compiled once and kept on disk (os.tmpdir(), or NODE_COMPILE_CACHE): from
// the second start on, the CLI and the server load in about a third less CPU, most of
// it type stripping and parsing. Workers and child processes inherit it through the
// environment. The program is imported after, so that its modules use the cache.
const cache = enableCompileCache();
if (cache.directory) process.env.NODE_COMPILE_CACHE ??= cache.directory;
const { runCli } = await import('./cli/program.ts');

// Exit explicitly: after a graceful stop nothing (pools, timers) may keep the
// process alive, and on Linux stdout/stderr writes to files and pipes are synchronous.
process.exit(await runCli(process.argv));
