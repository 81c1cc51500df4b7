#!/usr/bin/env node
// Validate a Forge manifest.yml with @forge/manifest, the package behind `forge lint` and
// `forge deploy`, using its full validation (JSON schema plus every lint rule).
//
// Usage: node lint.js manifest.yml [other-manifest.yml ...]
// Prints, as JSON on stdout, for each file given:
//   {"<file>": {"success": bool, "errors": [{"level", "message", "line", "column"}]}, ...}
// Exits 0 when the validator accepts every file, 1 when it refuses any, 2 on misuse. Several
// files in one run share the validator's start-up (it compiles Forge's whole JSON schema).
'use strict';

const fs = require('fs');
const { ProcessorBuilder, ValidationTypes } = require('@forge/manifest');

async function main(argv) {
  if (argv.length === 0) {
    process.stderr.write('usage: node lint.js manifest.yml [other-manifest.yml ...]\n');
    return 2;
  }
  const missing = argv.filter((file) => !fs.existsSync(file));
  if (missing.length) {
    process.stderr.write(`no such file: ${missing.join(', ')}\n`);
    return 2;
  }
  const processor = ProcessorBuilder.instance().withValidation(ValidationTypes.FULL).build();
  const report = {};
  for (const file of argv) {
    const result = await processor.process(file);
    const errors = (result.errors || []).map(({ level, message, line, column }) => ({
      level,
      message,
      line,
      column
    }));
    report[file] = { success: result.success, errors };
  }
  process.stdout.write(JSON.stringify(report) + '\n');
  return Object.values(report).every((result) => result.success) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exitCode = 2;
  }
);
