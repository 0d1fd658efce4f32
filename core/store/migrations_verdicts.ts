/**
 * Schema step 8 (SQLite): a verdict written touches the record's row and little else.
 *
 * Step 4 indexed each record by settlement day, verdict and tap time so that the console could
 * count a day's verdicts. Writing a verdict moved that record's entry from `PENDING` to its
 * status: a delete and an insert at places spread over the whole index (tap times of a day
 * arrive in no order), half of the cost of committing a page of verdicts (docs/scale.md,
 * "Verification work on SQLite"). Instead:
 *
 * - `day_verdicts` holds the count of records per settlement day and verdict (the verdict as the
 *   virtual column `records.verdict` computes it), kept by triggers on every insert, update and
 *   delete of `records`, so no writer can leave it wrong (a day or verdict that is NULL counts
 *   under ''). The console reads its counts from
 *   there; `icfare records --status` still filters on the virtual column.
 * - `records_day_pending` lists each day's pending records. Clearing asks it whether a day still
 *   waits for verification; a verdict removes one entry, next to the one removed before it
 *   (verdicts are written in record order), and an upload appends.
 */
export const VERDICTS_SQL = `
DROP INDEX records_day_verdict;
CREATE TABLE day_verdicts (
  settlement_day TEXT NOT NULL,
  verdict TEXT NOT NULL,
  records INTEGER NOT NULL CHECK (records >= 0),
  PRIMARY KEY (settlement_day, verdict)
) STRICT, WITHOUT ROWID;
INSERT INTO day_verdicts (settlement_day, verdict, records)
  SELECT coalesce(settlement_day, ''), coalesce(verdict, ''), count(*) FROM records GROUP BY 1, 2;
CREATE TRIGGER records_verdicts_insert AFTER INSERT ON records
BEGIN
  INSERT INTO day_verdicts (settlement_day, verdict, records)
    VALUES (coalesce(NEW.settlement_day, ''), coalesce(NEW.verdict, ''), 1)
    ON CONFLICT DO UPDATE SET records = records + 1;
END;
CREATE TRIGGER records_verdicts_update
AFTER UPDATE OF status, verification, reject_code, settlement_day ON records
WHEN NEW.verdict IS NOT OLD.verdict OR NEW.settlement_day IS NOT OLD.settlement_day
BEGIN
  UPDATE day_verdicts SET records = records - 1
    WHERE settlement_day = coalesce(OLD.settlement_day, '') AND verdict = coalesce(OLD.verdict, '');
  INSERT INTO day_verdicts (settlement_day, verdict, records)
    VALUES (coalesce(NEW.settlement_day, ''), coalesce(NEW.verdict, ''), 1)
    ON CONFLICT DO UPDATE SET records = records + 1;
END;
CREATE TRIGGER records_verdicts_delete AFTER DELETE ON records
BEGIN
  UPDATE day_verdicts SET records = records - 1
    WHERE settlement_day = coalesce(OLD.settlement_day, '') AND verdict = coalesce(OLD.verdict, '');
END;
CREATE INDEX records_day_pending ON records (settlement_day) WHERE status = 'pending';
`;
