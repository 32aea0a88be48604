// Test-only extension for code-server: activates on `*`, runs the editor suite named by
// TOLLGATE_EDITOR_SUITE inside this extension host and writes the results to TOLLGATE_EDITOR_RESULTS.
// It does nothing without both variables, so it is inert if ever installed by mistake.
/* global exports, setTimeout */
'use strict';
const fs = require('node:fs');

let started = false;

exports.activate = function activate() {
  const suite = process.env.TOLLGATE_EDITOR_SUITE;
  const results = process.env.TOLLGATE_EDITOR_RESULTS;
  // Every page load starts a new extension host: run once per results file.
  if (!suite || !results || started || fs.existsSync(results)) return;
  started = true;
  const write = (value) => fs.writeFileSync(`${results}.tmp`, JSON.stringify(value, null, 2)) || fs.renameSync(`${results}.tmp`, results);
  setTimeout(() => {
    Promise.resolve()
      .then(() => require(suite).runSuite())
      .then(write, (err) => write({ passed: [], failed: [{ title: 'editor suite did not run', error: String(err && err.stack || err) }], facts: {} }));
  }, 0);
};

exports.deactivate = function deactivate() {};
