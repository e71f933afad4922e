import { createHash } from 'node:crypto';
import { MaestroError } from '../../domain/errors.js';
import { canonicalJson } from '../../plan/plan-version.js';
import type { RunDetail } from '../../store/port.js';

export const LEDGER_FORMAT = 'maestro.claim-ledger/v1';
const GENESIS = '0'.repeat(64);

export interface LedgerEntry {
  index: number;
  kind: 'step' | 'artifact';
  /** Step key or artifact name. */
  subject: string;
  /** Artifact id or step id. */
  ref: string;
  /** sha256 of the step's recorded result, or the artifact's content digest. */
  digest: string;
  status?: string;
  prev: string;
  hash: string;
}

export interface LedgerManifest {
  format: typeof LEDGER_FORMAT;
  /** The hash of the last entry: it commits to every entry before it. */
  manifest_id: string;
  run_id: string;
  plan_id: string;
  plan_version: string;
  run_status: string;
  entries: LedgerEntry[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function entryHash(entry: Omit<LedgerEntry, 'hash'>): string {
  return sha256(canonicalJson(entry));
}

/** A hash-chained manifest of a run's steps and artifacts: each entry commits to the one before it. */
export function buildLedgerManifest(detail: RunDetail): LedgerManifest {
  const subjects: Array<Omit<LedgerEntry, 'index' | 'prev' | 'hash'>> = [
    ...detail.steps.map((step) => ({
      kind: 'step' as const,
      subject: step.key,
      ref: step.step_id,
      status: step.status,
      digest: sha256(
        canonicalJson({
          status: step.status,
          attempt: step.attempt,
          outputs: step.outputs ?? {},
          error_info: step.error_info ?? null,
          cost: step.cost ?? 0,
        }),
      ),
    })),
    ...detail.artifacts.map((artifact) => ({
      kind: 'artifact' as const,
      subject: artifact.name,
      ref: artifact.artifact_id,
      digest: artifact.digest?.sha256 ?? sha256(artifact.location),
    })),
  ];
  let prev = GENESIS;
  const entries = subjects.map((subject, index) => {
    const unsigned = { index, ...subject, prev };
    const hash = entryHash(unsigned);
    prev = hash;
    return { ...unsigned, hash };
  });
  return {
    format: LEDGER_FORMAT,
    manifest_id: prev,
    run_id: detail.run.run_id,
    plan_id: detail.run.plan_id,
    plan_version: detail.run.plan_version,
    run_status: detail.run.status,
    entries,
  };
}

/**
 * Recomputes the chain: an edited entry breaks its hash, a removed or reordered one breaks the index or the
 * `prev` link of the next, a removed tail breaks the manifest id. Throws LEDGER_INVALID naming the entry.
 */
export function verifyLedgerManifest(manifest: LedgerManifest | null): { entries: number; manifest_id: string } {
  const fail = (message: string, index?: number): never => {
    throw new MaestroError('LEDGER_INVALID', message, {
      details: { ...(index === undefined ? {} : { path: `$.entries[${index}]` }) },
    });
  };
  // The manifest comes from a file: its shape is checked before the chain is.
  if (manifest?.format !== LEDGER_FORMAT || !Array.isArray(manifest.entries))
    return fail(`not a ${LEDGER_FORMAT} manifest`);
  let prev = GENESIS;
  manifest.entries.forEach((entry, position) => {
    if (entry.index !== position)
      fail(`entry ${position} says it is entry ${entry.index}: entries were removed or reordered`, position);
    if (entry.prev !== prev)
      fail(
        `entry ${position} does not follow the entry before it: entries were removed, reordered or edited`,
        position,
      );
    const { hash, ...unsigned } = entry;
    if (entryHash(unsigned) !== hash)
      fail(`entry ${position} (${entry.kind} ${entry.subject}) was edited: its hash does not match`, position);
    prev = hash;
  });
  if (manifest.manifest_id !== prev)
    fail('the manifest id is not the hash of the last entry: entries were removed or added at the end');
  return { entries: manifest.entries.length, manifest_id: manifest.manifest_id };
}
