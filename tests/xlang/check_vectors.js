// The golden vectors through Ajv, a JavaScript JSON Schema validator, with the bundle's schemas
// alone: what a component in another language gets from the bundle.
//
//   node tests/xlang/check_vectors.js src/sagellm_protocol/schemas/v0.1
//
// (Ajv 8 is found through NODE_PATH or a node_modules directory; tests/xlang/test_ajv.py installs
// the version that package-lock.json pins and runs this script.)
//
// Every schema must compile in Ajv's strict mode: JSON Schema 2020-12, no unknown keyword. Then
// each vector of vectors/<Type>.json must get the verdict it announces:
//
//   accepted                              the schema accepts the input
//   rejected, schema_states_rule: true    the schema refuses it
//   rejected, schema_states_rule: false   the schema cannot state the rule, so it accepts the
//                                         input; for schema_gap "not_json" the JSON parser
//                                         refuses the text first. Counted by schema_gap.
//
// Prints a JSON report; exit status 1 if a schema does not compile or a verdict differs.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const Ajv2020 = require("ajv/dist/2020");

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

// What the schema makes of a vector's input: the JSON text when the vector gives it (its text
// is what it tests), else the JSON value.
function verdict(validate, vector) {
  let input;
  try {
    input = "json_text" in vector ? JSON.parse(vector.json_text) : vector.message;
  } catch {
    return "not JSON";
  }
  return validate(input) ? "accepted" : "refused";
}

function announced(vector) {
  if (!("errors" in vector)) return "accepted";
  if (vector.schema_states_rule) return "refused";
  return vector.schema_gap === "not_json" ? "not JSON" : "accepted";
}

const bundle = process.argv[2];
const index = readJson(path.join(bundle, "index.json"));
const ajv = new Ajv2020({ strict: true });
const report = {
  validator: `ajv ${require("ajv/package.json").version}`,
  compiled: [],
  compile_errors: {},
  accepted: 0, // accepted vectors the schema accepts
  refused: 0, // rejected vectors the schema refuses, as they announce
  unstated: {}, // rejected vectors whose rule the schema cannot state, by schema_gap
  disagreements: [],
};

for (const type of index.types) {
  let validate;
  try {
    validate = ajv.compile(readJson(path.join(bundle, `${type}.json`)));
  } catch (error) {
    report.compile_errors[type] = error.message;
    continue;
  }
  report.compiled.push(type);
  const vectors = readJson(path.join(bundle, "vectors", `${type}.json`));
  for (const vector of [...vectors.accepted, ...vectors.rejected]) {
    const expected = announced(vector);
    const found = verdict(validate, vector);
    if (found !== expected) {
      report.disagreements.push({ type, description: vector.description, expected, found });
    } else if (!("errors" in vector)) {
      report.accepted += 1;
    } else if (vector.schema_states_rule) {
      report.refused += 1;
    } else {
      report.unstated[vector.schema_gap] = (report.unstated[vector.schema_gap] ?? 0) + 1;
    }
  }
}

console.log(JSON.stringify(report, null, 2));
const failed = report.disagreements.length > 0 || Object.keys(report.compile_errors).length > 0;
process.exitCode = failed ? 1 : 0;
