// The console's calendar arithmetic: local days in a zone and the DST days it marks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addDays, dayKey, isDstDay, localHour, startOfDay, weekday } from "../../console/src/zones";

test("a day whose UTC offset changes is a DST day, its neighbours are not", () => {
  assert.equal(isDstDay("2027-03-28", "Europe/Paris"), true);
  assert.equal(isDstDay("2027-03-27", "Europe/Paris"), false);
  assert.equal(isDstDay("2027-03-29", "Europe/Paris"), false);
  assert.equal(isDstDay("2026-11-01", "America/New_York"), true);
  assert.equal(isDstDay("2026-11-01", "UTC"), false);
});

test("an instant falls on the local day and hour of its zone", () => {
  const instant = new Date("2026-12-03T23:30:00Z");
  assert.equal(dayKey(instant, "Europe/Paris"), "2026-12-04");
  assert.equal(dayKey(instant, "UTC"), "2026-12-03");
  assert.equal(localHour(instant, "Asia/Kolkata"), 5);
});

test("a local day starts at its zone's midnight, even on a DST day", () => {
  assert.equal(startOfDay("2027-03-28", "Europe/Paris").toISOString(), "2027-03-27T23:00:00.000Z");
  assert.equal(startOfDay("2026-12-03", "Asia/Tokyo").toISOString(), "2026-12-02T15:00:00.000Z");
});

test("plain dates move across months and years, weekdays count from Sunday", () => {
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2027-03-01", -1), "2027-02-28");
  assert.equal(weekday("2026-12-06"), 0);
  assert.equal(weekday("2026-12-05"), 6);
});
