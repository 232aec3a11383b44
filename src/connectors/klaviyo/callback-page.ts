/** What the OAuth callback tells the person in the browser. */
export interface CallbackResult {
  status: number;
  connected: boolean;
  message: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Messages are Herald's own text (they may quote Klaviyo's token endpoint); escaped all the same. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** A small self-contained page: no scripts, no external resources (the CSP allows none). */
export function renderCallbackPage(result: CallbackResult): string {
  const title = result.connected ? 'Your Klaviyo account is connected' : 'Klaviyo authorization failed';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Herald</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
main { max-width: 32rem; margin: 15vh auto; padding: 2rem; background: #fff; border-radius: 8px;
  border-top: 6px solid ${result.connected ? '#1a7f4b' : '#b42318'}; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.08); }
h1 { font-size: 1.4rem; margin: 0 0 0.75rem; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${escapeHtml(result.message)}</p>
</main>
</body>
</html>
`;
}
