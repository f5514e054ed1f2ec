// Runs the pure functions of assets/report-versions.js for the tests (tests/build_tools/test_published_tree.py):
// reads [{pageURL, offset, data, bibtex}] as JSON on stdin and prints, for each, what a reader of that page sees.
"use strict";
const path = require("path");
const versions = require(path.join(__dirname, "..", "..", "assets", "report-versions.js"));

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((c) => {
    const where = versions.locate(c.pageURL, c.offset);
    return {
      where,
      version: versions.thisVersion(where, c.data),
      entries: versions.switcherEntries(where, c.data),
      banner: versions.banner(where, c.data),
      url: versions.versionURL(where, c.data),
      bibtex: c.bibtex ? versions.bibtexWithURL(c.bibtex, versions.versionURL(where, c.data) || "") : null,
    };
  });
  process.stdout.write(JSON.stringify(out));
});
