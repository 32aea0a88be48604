import type { Policy } from '../engine/policy/model';
import type { DataDirKeySource } from '../store/session-key';
import { readKeyRing, rotateSessionKeys, rotationDue } from '../store/session-key';

// The bundle's `identity.session_keys.rotate_every`: a proxy rotates its data dir's session key
// when the current one is older than that, at start and then hourly (or sooner for a short period).

const MAX_CHECK_MS = 3_600_000;

export class KeyRotationSchedule {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    private readonly keys: DataDirKeySource,
    private readonly policy: () => Policy,
    private readonly log: { info(message: string): void; error(message: string): void },
    private readonly clock: () => number = Date.now,
  ) {}

  /** Rotates now if due; true when it did. */
  check(): boolean {
    const every = this.policy().identity.sessionKeys?.rotateEveryMs;
    if (every === undefined) return false;
    try {
      const now = this.clock();
      if (!rotationDue(readKeyRing(this.dataDir), every, now)) return false;
      const r = rotateSessionKeys(this.dataDir, { now });
      this.keys.refresh();
      this.log.info(`session key rotated (identity.session_keys.rotate_every): ${r.current} signs from now; ${r.retired.join(', ') || 'no key'} still verifies what it signed`);
      return true;
    } catch (err) {
      this.log.error(`session key rotation: ${(err as Error).message}`);
      return false;
    }
  }

  start(): void {
    this.check();
    const every = this.policy().identity.sessionKeys?.rotateEveryMs;
    this.timer = setInterval(() => this.check(), Math.max(1000, Math.min(MAX_CHECK_MS, (every ?? MAX_CHECK_MS) / 4)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
