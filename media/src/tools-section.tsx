// The dashboard's Tools section: tool calls per agent and per MCP server and tool (today and over
// the snapshot's window), the refused tool calls, and the calls waiting for a person's approval.

import type { StateSnapshot } from '../../src/contracts/admin';
import { SPEND_HISTORY_DAYS } from '../../src/contracts/admin';
import type { ApprovalLine, ServerLine, ToolCallLine, ToolRefusalLine } from '../../src/views/tools-model';
import { agentToolLines, approvalLines, serverToolLines, toolRefusalLines } from '../../src/views/tools-model';

function Counts({ line }: { line: ToolCallLine }): preact.JSX.Element {
  return (
    <>
      <td class="num">{line.today}</td>
      <td class="num">{line.todayRefused || ''}</td>
      <td class="num">{line.calls}</td>
      <td class="num">{line.refused || ''}</td>
    </>
  );
}

const WINDOW = `${SPEND_HISTORY_DAYS} days`;

function ByAgent({ lines }: { lines: ToolCallLine[] }): preact.JSX.Element {
  return (
    <section data-testid="tools-agent">
      <h3>Tool calls by agent</h3>
      {lines.length === 0 ? (
        <p class="muted">No tool calls yet.</p>
      ) : (
        <table>
          <thead><tr><th>Agent</th><th class="num">MCP today</th><th class="num">refused</th><th class="num">MCP {WINDOW}</th><th class="num">refused</th><th class="num">Model tool calls</th></tr></thead>
          <tbody>
            {lines.map((l) => (
              <tr key={l.key} class="tool-agent"><td>{l.key}</td><Counts line={l} /><td class="num">{l.modelToolCalls}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ByServer({ lines }: { lines: ServerLine[] }): preact.JSX.Element {
  return (
    <section data-testid="tools-server">
      <h3>MCP calls by server and tool</h3>
      {lines.length === 0 ? (
        <p class="muted">No MCP calls yet.</p>
      ) : (
        <table>
          <thead><tr><th>Server / tool</th><th class="num">Today</th><th class="num">refused</th><th class="num">{WINDOW}</th><th class="num">refused</th></tr></thead>
          <tbody>
            {lines.flatMap((s) => [
              <tr key={s.key} class="tool-server" data-server={s.key}><td><strong>{s.key}</strong></td><Counts line={s} /></tr>,
              ...s.tools.map((t) => (
                <tr key={`${s.key}/${t.key}`} class="tool-of-server" data-server={s.key}><td class="indent">{t.key}</td><Counts line={t} /></tr>
              )),
            ])}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Refused({ lines }: { lines: ToolRefusalLine[] }): preact.JSX.Element {
  return (
    <section data-testid="tool-refusals">
      <h3>Refused tool calls</h3>
      {lines.length === 0 ? (
        <p class="muted">No refused tool calls among the recent decisions.</p>
      ) : (
        <table>
          <thead><tr><th>Time</th><th>Identity</th><th>Tool</th><th>Rule</th><th class="num">Status</th></tr></thead>
          <tbody>
            {lines.map((r) => (
              <tr key={r.id} class="tool-refusal" data-decision-id={r.id}>
                <td>{new Date(r.time).toLocaleTimeString()}</td>
                <td>{r.user} / {r.agent}</td>
                <td>{r.toolName}</td>
                <td>{r.rule ?? ''}</td>
                <td class="num">{r.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Approvals({ lines, approvers }: { lines: ApprovalLine[]; approvers: number | null }): preact.JSX.Element {
  return (
    <section data-testid="approvals">
      <h3>Waiting for approval</h3>
      {lines.length === 0 ? (
        <p class="muted">No approvals waiting.</p>
      ) : (
        <table>
          <thead><tr><th>Asked</th><th>Identity</th><th>Tool</th><th>Arguments (redacted)</th><th>Times out</th></tr></thead>
          <tbody>
            {lines.map((a) => (
              <tr key={a.id} class="approval" data-approval-id={a.id}>
                <td>{new Date(a.askedAt).toLocaleTimeString()}</td>
                <td>{a.who}</td>
                <td>{a.toolName}</td>
                <td><code>{a.arguments}</code></td>
                <td>{new Date(a.expiresAt).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {approvers === 0 && <p class="muted">Nobody is asked here: a call that needs approval is refused at once.</p>}
    </section>
  );
}

export function ToolsSection({ snap, identity }: { snap: StateSnapshot; identity: string }): preact.JSX.Element {
  const approvals = approvalLines(snap.approvals, identity);
  return (
    <section data-testid="tools">
      <h2>Tools</h2>
      <div class="columns">
        <ByAgent lines={agentToolLines(snap.tools, identity)} />
        <ByServer lines={serverToolLines(snap.tools)} />
      </div>
      <Refused lines={toolRefusalLines(snap.tools, identity)} />
      <Approvals lines={approvals.lines} approvers={approvals.approvers} />
    </section>
  );
}
