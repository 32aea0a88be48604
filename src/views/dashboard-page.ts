// The one HTML page the dashboard's front end loads into, in the editor's webview and in a
// browser: a root element, its stylesheet and its one script, allowed by a nonce.

export interface DashboardPage {
  /** The script's nonce, fresh for each page. */
  readonly nonce: string;
  readonly scriptUrl: string;
  readonly styleUrl: string;
  /** A Content-Security-Policy to state in the page itself (the webview's; a server sends it as a header). */
  readonly metaCsp?: string;
}

export function dashboardPageHtml(p: DashboardPage): string {
  const csp = p.metaCsp === undefined ? '' : `<meta http-equiv="Content-Security-Policy" content="${p.metaCsp}">\n`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${csp}<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="stylesheet" href="${p.styleUrl}">
<title>Tollgate</title>
</head>
<body>
<div id="root"></div>
<script nonce="${p.nonce}" src="${p.scriptUrl}"></script>
</body>
</html>
`;
}
