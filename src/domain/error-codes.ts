/**
 * The one catalogue of error codes. docs/errors.md documents the same list and a test fails when they drift.
 * `retryable` is the default for the code; a thrower may override it where it knows better.
 */
export const ErrorCode = {
  PLAN_INVALID: {
    retryable: false,
    summary:
      'The plan file does not match schemas/plan.schema.json or does not compile (cycle, unknown id, bad expression, unknown kind).',
  },
  INPUT_INVALID: {
    retryable: false,
    summary: 'Run inputs, an API body, a query string or a CLI flag is not what its schema expects.',
  },
  DOCUMENT_INVALID: {
    retryable: false,
    summary: 'A document about to be stored does not match its schema; nothing was written.',
  },
  EXPRESSION_INVALID: { retryable: false, summary: 'A ${{ }} expression cannot be parsed or evaluated.' },
  PLAN_NOT_FOUND: { retryable: false, summary: 'No plan (or plan version) with that id is visible to the caller.' },
  RUN_NOT_FOUND: { retryable: false, summary: 'No run with that id is visible to the caller.' },
  STEP_NOT_FOUND: { retryable: false, summary: 'No step with that id or key in the run.' },
  CONCURRENCY_LIMIT: {
    retryable: true,
    summary: "The run's concurrency group is full and its plan says `on_conflict: skip`: no run was started.",
  },
  SCHEDULE_NOT_FOUND: { retryable: false, summary: 'No schedule with that id is visible to the caller.' },
  STEP_ILLEGAL_TRANSITION: {
    retryable: false,
    summary: 'The step cannot move from its current status to the requested one.',
  },
  RUN_ILLEGAL_TRANSITION: {
    retryable: false,
    summary: 'The run cannot move from its current status to the requested one (for example resuming a finished run).',
  },
  IDEMPOTENCY_CONFLICT: {
    retryable: false,
    summary:
      "An idempotency key was reused with a different request (plan version, inputs or labels); the first request's run is unchanged.",
  },
  CONFLICT: {
    retryable: true,
    summary: 'Another writer changed the same document first (unique key or optimistic concurrency).',
  },
  LEASE_LOST: {
    retryable: false,
    summary: 'The runner no longer holds the lease of the run or step it tried to write.',
  },
  BUDGET_EXCEEDED: { retryable: false, summary: 'The run crossed max_duration_ms or max_cost.' },
  STEP_FAILED: { retryable: true, summary: 'A step attempt failed (non-zero exit, handler threw, HTTP error status).' },
  STEP_TIMEOUT: { retryable: true, summary: 'A step attempt ran longer than its timeout_ms.' },
  CANCELLED: { retryable: false, summary: 'The run or step was cancelled.' },
  EXECUTOR_UNKNOWN: { retryable: false, summary: 'No executor is registered for the step kind (uses).' },
  HANDLER_NOT_FOUND: { retryable: false, summary: 'No handler function is registered under that name.' },
  SECRET_MISSING: {
    retryable: false,
    summary:
      "A step reads a secret the runner's provider does not have, or a write-only input this runner does not hold; the message names it, never a value.",
  },
  KIND_FORBIDDEN: {
    retryable: false,
    summary:
      'A step kind (or shell) that this API or runner does not allow: refused at plan creation (API) or when the step would run (runner). See --allow-kinds.',
  },
  LIMIT_EXCEEDED: {
    retryable: false,
    summary:
      'A value crosses a documented limit (JSON depth or size of inputs, metadata or a document; expression result; foreach items; cost). Nothing is stored.',
  },
  OUTPUT_TOO_LARGE: {
    retryable: false,
    summary:
      'A step returned outputs larger (or deeper) than the output limit, or the outputs a group, a foreach or the run gathers from its steps pass the document limit; write large results to a file and attach it as an artifact.',
  },
  ARTIFACT_TOO_LARGE: {
    retryable: false,
    summary:
      "A file artifact a step declares, or one its artifacts_in would write, is larger than the runner's maximum artifact size (MAESTRO_MAX_ARTIFACT_BYTES, default 1 GiB): the step fails and nothing of the file is stored or written.",
  },
  ARTIFACT_NOT_FOUND: { retryable: false, summary: 'No artifact with that id in the run.' },
  ARTIFACT_UNAVAILABLE: {
    retryable: false,
    summary:
      "An artifact's bytes are not in the store: a step's artifacts_in names one its producer did not record with stored content (or whose blob was removed), or the API is asked for the content of an artifact attached by URL or over the API.",
  },
  ARTIFACT_DIGEST_MISMATCH: {
    retryable: false,
    summary:
      'The bytes of an artifact read back from the store do not match the sha256 recorded when it was stored (a changed or damaged blob): the step whose artifacts_in needed it fails without the file, an API download is cut short.',
  },
  LOG_TOO_LARGE: {
    retryable: false,
    summary:
      "A step attempt's log passed the runner's log limit (MAESTRO_MAX_LOG_BYTES or the engine option maxLogBytes, default 64 MiB): the attempt was stopped and the rest of its output not kept.",
  },
  BLOB_TOO_LARGE: {
    retryable: false,
    summary: 'Bytes streamed into the blob store passed the limit given for them; nothing of the blob was kept.',
  },
  PATH_FORBIDDEN: { retryable: false, summary: 'A path escapes the workspace.' },
  URL_FORBIDDEN: {
    retryable: false,
    summary: 'An http step URL has a forbidden scheme or resolves to a private or link-local address.',
  },
  CURSOR_INVALID: { retryable: false, summary: 'The list cursor is not one this server issued.' },
  STORE_URL_INVALID: {
    retryable: false,
    summary:
      'The store URL is not sqlite://file, memory://, mongodb:// or mongodb+srv://, or one of its options is not known or not valid (a nedb:// store is imported with maestro store import).',
  },
  STORE_CORRUPT: {
    retryable: false,
    summary:
      'The embedded store has a file it cannot read back; it is not opened (nothing is changed). Restore the file or move it away.',
  },
  STORE_IMPORT_REFUSED: {
    retryable: false,
    summary:
      'maestro store import imported nothing: the SQLite store already holds runs (see --merge), the old store is in use by a running process, or the documents stored would differ in number from those read.',
  },
  TOO_MANY_STREAMS: {
    retryable: true,
    summary:
      'Too many event streams are open for this token, its owner or this server; close one, or poll the JSON form.',
  },
  STORE_UNAVAILABLE: { retryable: true, summary: 'The store did not answer (network, server down, timeout).' },
  UNAUTHORIZED: { retryable: false, summary: 'No valid bearer token.' },
  FORBIDDEN: { retryable: false, summary: "The token's role does not allow this operation." },
  NOT_ACCEPTABLE: { retryable: false, summary: 'Unsupported media type or body too large.' },
  LEDGER_INVALID: { retryable: false, summary: 'A claim-ledger manifest does not verify.' },
  ATTESTATION_INVALID: { retryable: false, summary: 'An attestation envelope does not verify.' },
  CONFIG_INVALID: { retryable: false, summary: 'A configuration file (tokens, hooks) is malformed.' },
  INTERNAL: { retryable: false, summary: 'A bug: an unexpected error inside Maestro.' },
} as const;

export type ErrorCode = keyof typeof ErrorCode;
