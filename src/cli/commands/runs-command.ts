import { waitingNote } from '../../domain/step-waiting.js';
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import type { PlanDocument, RunDocument, StepDocument } from '../../generated/schemas.js';
import { isMaestroError, MaestroError } from '../../domain/errors.js';
import type { Engine } from '../../maestro-engine.js';
import { ID_PATTERN } from '../../domain/ids.js';
import { parseListRunsQuery } from '../../store/list-runs-query.js';
import {
  emit,
  subcommand,
  withEngine,
  withReadOnlyEngine,
  type CommandIo,
  type GlobalArgs,
} from '../command-context.js';
import { exitCodeOfRunStatus } from '../exit-codes.js';
import { followStepLog } from '../follow-step-log.js';
import { parseLabels, readRunInputs } from '../parse-inputs.js';
import { formatPage, formatTable } from '../render/table.js';
import { stripControlSequences } from '../render/terminal-text.js';
import { readStoredStepLog } from '../stored-step-log.js';

type RunsArgs = GlobalArgs & {
  plan?: string;
  run_id?: string;
  input: string[];
  inputs?: string;
  label: string[];
  execute: boolean;
  'idempotency-key'?: string;
  status?: string;
  'plan-id'?: string;
  'parent-run-id'?: string;
  'created-after'?: string;
  'created-before'?: string;
  limit?: number;
  cursor?: string;
  from?: string;
  step?: string;
  after: number;
  follow: boolean;
};

/** One row of `runs show`: an error beside a step only while it explains the step's state. */
function describeStep(step: StepDocument): string[] {
  const notes: string[] = [];
  if (step.skip_reason === 'reused') notes.push('reused from the earlier run');
  else if (step.skip_reason) notes.push(step.skip_reason.replace(/_/g, ' '));
  if (step.child_run_id) notes.push(`child run ${step.child_run_id}`);
  const waiting = waitingNote(step);
  if (waiting) notes.push(waiting);
  if (step.status === 'running' && step.lease) notes.push(`on ${step.lease.owner}`);
  const error = step.error_info ? `${step.error_info.code}: ${step.error_info.message}` : '';
  if (error && ['failed', 'cancelled', 'skipped'].includes(step.status)) notes.push(error);
  else if (error && step.status !== 'succeeded') notes.push(`previous attempt: ${error}`);
  const duration =
    step.started_at && step.ended_at ? `${Date.parse(step.ended_at) - Date.parse(step.started_at)}ms` : '';
  return [
    step.key,
    step.status,
    String(step.attempt),
    step.uses ?? 'group',
    duration,
    stripControlSequences(notes.join('; ')),
  ];
}

/** Cancels a run; cancelling one already cancelled changes nothing and is no error (a retried script). */
async function cancelRunOnce(engine: Engine, runId: string): Promise<{ run: RunDocument; already: boolean }> {
  try {
    return { run: await engine.cancelRun(runId), already: false };
  } catch (error) {
    if (!isMaestroError(error, 'RUN_ILLEGAL_TRANSITION') || error.details.status !== 'cancelled') throw error;
    return { run: (await engine.getRunDetail(runId)).run, already: true };
  }
}

/** `maestro runs start|list|show|cancel|resume|rerun|logs|events`. */
export function runsCommand(io: CommandIo): CommandModule<GlobalArgs, RunsArgs> {
  const inputOptions = (b: import('yargs').Argv<RunsArgs>) =>
    b
      .option('input', {
        alias: 'i',
        type: 'string',
        array: true,
        default: [],
        describe: 'A run input key=value; repeatable',
      })
      .option('inputs', { type: 'string', describe: 'A JSON file of run inputs' })
      .option('execute', { type: 'boolean', default: false, describe: 'Also execute it here until it ends' });
  return {
    command: 'runs <action>',
    describe: 'Start, query and steer runs',
    builder: (y) =>
      y
        .command(
          subcommand<RunsArgs>({
            command: 'start <plan>',
            describe: 'Start a run of a stored plan (plan id) or of a plan file; a worker executes it unless --execute',
            builder: (b) =>
              inputOptions(b)
                .option('label', { type: 'string', array: true, default: [] })
                .option('idempotency-key', { type: 'string' }),
            handler: (args: RunsArgs) =>
              withEngine(args, io, async ({ engine, store }) => {
                let planDoc: PlanDocument | undefined;
                if (ID_PATTERN.test(args.plan!) && !existsSync(args.plan!)) planDoc = await store.getPlan(args.plan!);
                else planDoc = await engine.applyPlanFile(args.plan!, args.owner);
                if (!planDoc)
                  throw new MaestroError('PLAN_NOT_FOUND', `no plan ${args.plan}`, { details: { path: 'plan' } });
                const { run, created } = await engine.startRun(planDoc, {
                  inputs: readRunInputs(args.inputs, args.input),
                  labels: parseLabels(args.label),
                  ...(args.owner ? { owner: args.owner } : {}),
                  ...(args['idempotency-key'] ? { idempotencyKey: args['idempotency-key'] } : {}),
                });
                const final = args.execute ? ((await engine.executeRun(run.run_id)) ?? run) : run;
                emit(
                  io,
                  args,
                  { run: final, created },
                  () => `${final.run_id} ${final.status}${created ? '' : ' (existing run for this idempotency key)'}\n`,
                );
                if (args.execute) io.exitCode = exitCodeOfRunStatus(final.status);
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'list',
            describe: 'List runs, newest first, filtered like the API',
            builder: (b) =>
              b
                .option('status', { type: 'string', describe: 'pending, running, succeeded, failed or cancelled' })
                .option('plan-id', { type: 'string' })
                .option('parent-run-id', { type: 'string', describe: 'Only the child runs of this run' })
                .option('created-after', { type: 'string', describe: 'ISO-8601, inclusive' })
                .option('created-before', { type: 'string', describe: 'ISO-8601, exclusive' })
                .option('limit', { type: 'number', default: 50 })
                .option('cursor', { type: 'string' }),
            handler: (args: RunsArgs) =>
              withReadOnlyEngine(args, io, async ({ store }) => {
                const raw: Record<string, unknown> = {};
                if (args.status !== undefined) raw.status = args.status;
                if (args.owner !== undefined) raw.owner = args.owner;
                if (args['plan-id'] !== undefined) raw.plan_id = args['plan-id'];
                if (args['parent-run-id'] !== undefined) raw.parent_run_id = args['parent-run-id'];
                if (args['created-after'] !== undefined) raw.created_after = args['created-after'];
                if (args['created-before'] !== undefined) raw.created_before = args['created-before'];
                if (args.limit !== undefined) raw.limit = args.limit;
                if (args.cursor !== undefined) raw.cursor = args.cursor;
                const { filter, page } = parseListRunsQuery(raw);
                const result = await store.listRuns(filter, page);
                emit(io, args, result, () =>
                  formatPage(result, ['RUN_ID', 'PLAN', 'STATUS', 'OWNER', 'CREATED', 'COST'], (r) => [
                    r.run_id,
                    r.plan_name,
                    r.status,
                    r.owner,
                    r.created_at,
                    String(r.usage.cost),
                  ]),
                );
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'show <run_id>',
            describe: 'A run with its steps and artifacts',
            handler: (args: RunsArgs) =>
              withReadOnlyEngine(args, io, async ({ engine }) => {
                const detail = await engine.getRunDetail(args.run_id!);
                emit(io, args, detail, () => {
                  const { run } = detail;
                  const head = `run ${run.run_id}  plan ${run.plan_name}  ${run.status}  owner ${run.owner}  cost ${run.usage.cost}\n`;
                  const error = run.error_info
                    ? stripControlSequences(`error ${run.error_info.code}: ${run.error_info.message}\n`)
                    : '';
                  const artifacts = detail.artifacts
                    .map(
                      (a) =>
                        `artifact ${a.artifact_id} ${a.type} ${a.name} ${a.location}${a.digest ? ` sha256:${a.digest.sha256.slice(0, 12)}` : ''}\n`,
                    )
                    .join('');
                  return (
                    head +
                    error +
                    formatTable(['STEP', 'STATUS', 'ATTEMPT', 'USES', 'TIME', 'NOTE'], detail.steps.map(describeStep)) +
                    artifacts
                  );
                });
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'cancel <run_id>',
            describe: 'Cancel a run (its runner stops running steps; an unattended run ends at once)',
            handler: (args: RunsArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const { run, already } = await cancelRunOnce(engine, args.run_id!);
                const said = already
                  ? 'already cancelled'
                  : `${run.status}${run.status === 'cancelled' ? '' : ' (cancellation requested)'}`;
                emit(io, args, run, () => `${run.run_id} ${said}\n`);
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'resume <run_id>',
            describe: 'Execute a run here until it ends, taking it over once its old runner is gone',
            handler: (args: RunsArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const run = await engine.executeRun(args.run_id!);
                emit(io, args, run, () => `${run!.run_id} ${run!.status}\n`);
                io.exitCode = exitCodeOfRunStatus(run!.status);
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'rerun <run_id>',
            describe: 'Start a new run linked to this one from a step, reusing the results before it',
            builder: (b) =>
              inputOptions(b).option('from', {
                type: 'string',
                demandOption: true,
                describe: 'Top-level step id to run again from',
              }),
            handler: (args: RunsArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const edited =
                  args.inputs || args.input.length > 0 ? readRunInputs(args.inputs, args.input) : undefined;
                const run = await engine.rerunFrom(args.run_id!, args.from!, { ...(edited ? { inputs: edited } : {}) });
                const final = args.execute ? ((await engine.executeRun(run.run_id)) ?? run) : run;
                emit(
                  io,
                  args,
                  final,
                  () => `${final.run_id} ${final.status} (rerun of ${args.run_id} from ${args.from})\n`,
                );
                if (args.execute) io.exitCode = exitCodeOfRunStatus(final.status);
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'logs <run_id>',
            describe: "Print the steps' captured logs (one step with --step; -f follows it as it is written)",
            builder: (b) =>
              b.option('step', { type: 'string', describe: 'Step key' }).option('follow', {
                alias: 'f',
                type: 'boolean',
                default: false,
                describe: "Print the step's log as it is written, until its attempt ends (needs --step)",
              }),
            handler: (args: RunsArgs) =>
              withReadOnlyEngine(args, io, async ({ engine, store }) => {
                const { steps } = await engine.getRunDetail(args.run_id!);
                if (args.follow) {
                  if (args.step === undefined)
                    throw new MaestroError('INPUT_INVALID', '--follow needs --step <key>', {
                      details: { path: '--step' },
                    });
                  await followStepLog(store, args.run_id!, args.step, io.out);
                  return;
                }
                const chosen = steps.filter((s) => s.logs_ref && (args.step === undefined || s.key === args.step));
                if (args.step !== undefined && chosen.length === 0)
                  throw new MaestroError('STEP_NOT_FOUND', `run ${args.run_id} has no logs for step ${args.step}`, {
                    details: { path: '--step' },
                  });
                for (const step of chosen) {
                  io.out.write(stripControlSequences(`==> ${step.key} (attempt ${step.attempt}) ${step.logs_ref}\n`));
                  io.out.write(
                    (await readStoredStepLog(store, step)) ??
                      (existsSync(step.logs_ref!)
                        ? "(log file not under this workspace's .maestro/logs)\n"
                        : '(no log: the step wrote nothing)\n'),
                  );
                }
              }),
          }),
        )
        .command(
          subcommand<RunsArgs>({
            command: 'events <run_id>',
            describe: 'Print the stored events of a run in seq order',
            builder: (b) =>
              b.option('after', { type: 'number', default: 0, describe: 'Only events with a larger seq' }),
            handler: (args: RunsArgs) =>
              withReadOnlyEngine(args, io, async ({ engine, store }) => {
                await engine.getRunDetail(args.run_id!);
                const events = await store.listEvents(args.run_id!, args.after, 100_000);
                if (args.json)
                  io.out.write(events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''));
                else
                  io.out.write(
                    events
                      .map(
                        (e) =>
                          `${String(e.seq).padStart(5)} ${e.at} ${e.type}${typeof e.data.key === 'string' ? ` ${e.data.key}` : ''}\n`,
                      )
                      .join(''),
                  );
              }),
          }),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
