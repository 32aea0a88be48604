// The identities guards.divergence suspended, with what diverged and since when. On a team gateway
// a person with the admin token lifts one here; in the editor the notice offers the command instead.

import { useState } from 'preact/hooks';
import type { StateSnapshot, SuspensionView } from '../../src/contracts/admin';
import type { HostChannel } from './host-channel';

function diverged(s: SuspensionView): string {
  const ratio = s.ratio === null ? '' : ` (${s.ratio.toFixed(1)}x its usual ${s.baseline})`;
  return `${s.recent} ${s.measure} in the window${ratio}; threshold ${s.threshold}`;
}

type ResumeAnswer = { readonly ok: boolean; readonly text: string };

function ResumeAction({ s, resume, onAnswer }: { s: SuspensionView; resume: HostChannel['resume']; onAnswer: (a: ResumeAnswer) => void }): preact.JSX.Element {
  const [busy, setBusy] = useState(false);
  if (!resume) return <code class="resume-command">{s.resume}</code>;
  const target = s.agent === null ? { user: s.user } : { user: s.user, agent: s.agent };
  const act = (): void => {
    setBusy(true);
    resume(target).then(
      (text) => onAnswer({ ok: true, text }),
      (err: Error) => onAnswer({ ok: false, text: err.message }),
    ).finally(() => setBusy(false));
  };
  return <button class="secondary" data-testid="resume" disabled={busy} onClick={act}>Resume</button>;
}

export function SuspensionsSection({ snap, resume }: { snap: StateSnapshot; resume: HostChannel['resume'] }): preact.JSX.Element | null {
  // The answer outlives the row it came from: a lifted suspension leaves the list at once.
  const [answer, setAnswer] = useState<ResumeAnswer | undefined>();
  const list = snap.suspensions;
  // A proxy that cannot read them, or an older one, says nothing rather than "nobody".
  if (!list) return null;
  return (
    <section data-testid="suspensions">
      <h2>Suspended</h2>
      {answer && <p class={answer.ok ? 'muted' : 'notice error'} data-testid="resume-answer">{answer.text}</p>}
      {list.length === 0 ? (
        <p class="muted">Nobody is suspended.</p>
      ) : (
        <table>
          <thead><tr><th>Identity</th><th>Guard</th><th>What diverged</th><th>Since</th><th /></tr></thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.key} class="suspension" data-key={s.key}>
                <td>{s.agent === null ? s.user : `${s.user} / ${s.agent}`}</td>
                <td>{s.guard}</td>
                <td>{diverged(s)}</td>
                <td>{new Date(s.since).toLocaleString()}</td>
                <td><ResumeAction s={s} resume={resume} onAnswer={setAnswer} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
