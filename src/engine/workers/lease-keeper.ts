import { addMs, type Clock, isoNow } from '../../domain/clock.js';
import type { LeaseToken, RunStore } from '../../store/port.js';

interface HeldLease {
  kind: 'run' | 'step';
  id: string;
  token: LeaseToken;
  onLost: () => void;
}

/**
 * Renews the leases a runner holds at a third of their length, so one missed tick still leaves time.
 * A renewal that matches nothing means another runner holds the lease now: the holder is told to stop.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, HeldLease>();
  private cancelTick: (() => void) | undefined;
  private renewing = false;

  constructor(
    private readonly store: RunStore,
    private readonly leaseMs: number,
    private readonly clock: Clock,
  ) {}

  hold(kind: 'run' | 'step', id: string, token: LeaseToken, onLost: () => void): void {
    this.held.set(`${kind}:${id}`, { kind, id, token, onLost });
    this.cancelTick ??= this.scheduleTick();
  }

  /** The next renewal, a third of a lease from now; each tick arms the one after it while leases are held. */
  private scheduleTick(): () => void {
    return this.clock.setTimer(
      () => {
        this.cancelTick = this.held.size > 0 ? this.scheduleTick() : undefined;
        void this.renewAll();
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
      { unref: true },
    );
  }

  release(kind: 'run' | 'step', id: string): void {
    this.held.delete(`${kind}:${id}`);
    if (this.held.size === 0) this.stopTicking();
  }

  expiry(): string {
    return addMs(isoNow(this.clock), this.leaseMs);
  }

  stop(): void {
    this.stopTicking();
    this.held.clear();
  }

  private stopTicking(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
  }

  private async renewAll(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const expiresAt = this.expiry();
      // All at once: a slow store must not make the last lease of a long list lapse while the first ones renew.
      await Promise.all([...this.held.values()].map((lease) => this.renew(lease, expiresAt)));
    } finally {
      this.renewing = false;
    }
  }

  private async renew(lease: HeldLease, expiresAt: string): Promise<void> {
    let renewed: boolean;
    try {
      renewed =
        lease.kind === 'run'
          ? await this.store.renewRunLease(lease.id, lease.token, expiresAt)
          : await this.store.renewStepLease(lease.id, lease.token, expiresAt);
    } catch {
      // The store is unreachable: keep the lease and try again next tick; it may still expire.
      return;
    }
    const key = `${lease.kind}:${lease.id}`;
    if (!renewed && this.held.get(key) === lease) {
      this.held.delete(key);
      lease.onLost();
    }
  }
}
