// What the console sends and shows for what a person typed: label filters, query strings,
// enum names, durations.
import assert from "node:assert/strict";
import { test } from "node:test";
import { queryString } from "../../console/src/api";
import { enumLabel, humanSeconds, seconds } from "../../console/src/format";
import { labelFilter } from "../../console/src/pages/schedules";

test("a label filter is key=value or key:value, the value quoted as AIP-160 wants", () => {
  assert.equal(labelFilter("team=ops"), 'labels.team = "ops"');
  assert.equal(labelFilter(" team : platform one "), 'labels.team = "platform one"');
  assert.equal(labelFilter('x="y'), 'labels.x = "\\"y"');
  assert.equal(labelFilter("no separator"), null);
});

test("a query string leaves out what is empty and repeats lists", () => {
  assert.equal(queryString({ a: "", b: undefined, c: false }), "");
  assert.equal(queryString({ pageSize: 100, ids: ["x", "y"], on: true }), "?pageSize=100&ids=x&ids=y&on=true");
});

test("enum names lose their prefix, unspecified is a dash", () => {
  assert.equal(enumLabel("OBJECTIVE_STATUS_TIMED_OUT", "OBJECTIVE_STATUS_"), "Timed out");
  assert.equal(enumLabel("OBJECTIVE_STATUS_UNSPECIFIED", "OBJECTIVE_STATUS_"), "—");
  assert.equal(enumLabel(undefined, "X_"), "—");
});

test("durations read in words", () => {
  assert.equal(seconds("1.5s"), 1.5);
  assert.equal(seconds("bogus"), null);
  assert.equal(humanSeconds(0.25), "250 ms");
  assert.equal(humanSeconds(75), "1 min 15 s");
  assert.equal(humanSeconds(3 * 3600 + 120), "3 h 2 min");
  assert.equal(humanSeconds(null), "—");
});
