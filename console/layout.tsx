/**
 * The page frame of the console: header with the account and its role, the navigation, the
 * logout form (a POST with its CSRF token), and small shared pieces (forms carry the token,
 * figures in yuan, a link to records). No script anywhere: every page is plain HTML and CSS.
 */
import type { Child } from "hono/jsx";
import type { Session } from "./sessions.ts";

export const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;background:#f5f6f8}
header{background:#1f3a5f;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header h1{font-size:17px;margin:0 12px 0 0}header nav a{color:#d7e3f4;text-decoration:none;margin-right:14px}
header nav a.on{color:#fff;font-weight:600;border-bottom:2px solid #fff}header .who{margin-left:auto;font-size:13px}
header form{display:inline}header button{margin-left:8px}
main{padding:18px 22px;max-width:1500px}h2{font-size:18px;margin:0 0 12px}h3{font-size:15px;margin:18px 0 8px}
section.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:flex;gap:14px;flex-wrap:wrap}.figure{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 14px;min-width:150px}
.figure b{display:block;font-size:20px}.muted{color:#667085}.warn{color:#a15c00}.bad{color:#b42318}.ok{color:#067647}
.notice{padding:8px 12px;border-radius:5px;margin:0 0 12px;background:#ecfdf3;border:1px solid #abefc6}
.error{padding:8px 12px;border-radius:5px;margin:0 0 12px;background:#fef3f2;border:1px solid #fecdca}
.once{font-family:ui-monospace,monospace;font-size:15px;background:#fffaeb;border:1px solid #fedf89;padding:10px;word-break:break-all}
form.inline{display:inline}input,select{font:inherit;padding:3px 6px}button{font:inherit;padding:3px 10px;cursor:pointer}
pre{background:#0f172a;color:#e2e8f0;padding:12px;border-radius:6px;overflow:auto;font-size:12px;line-height:1.4}
ul.tlv{list-style:none;padding-left:18px;margin:0;font-family:ui-monospace,monospace;font-size:12px}ul.tlv li{margin:1px 0}
.tag{color:#1f3a5f;font-weight:600}.login{max-width:360px;margin:80px auto}.login label{display:block;margin:10px 0 4px}
.login input{width:100%}.pager a{margin-right:12px}
`;

const NAV: [string, string][] = [
  ["/day", "Day"],
  ["/terminals", "Terminals"],
  ["/records", "Records"],
  ["/denylist", "Deny list"],
  ["/clearing", "Clearing"],
  ["/archive", "Archive and audit"],
];

/** A hidden input with the session's CSRF token; every form carries one. */
export function Csrf(props: { session: Session }) {
  return <input type="hidden" name="_csrf" value={props.session.csrf} />;
}

/** A page of the console for a logged-in session. */
export function Page(
  props: { title: string; path: string; session: Session; children?: Child },
) {
  const s = props.session;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{props.title} · icfare console</title>
        <link rel="stylesheet" href="/static/console.css" />
        <link rel="icon" href="data:," />
      </head>
      <body>
        <header>
          <h1>icfare console</h1>
          <nav>
            {NAV.map(([href, label]) => (
              <a href={href} class={props.path.startsWith(href) ? "on" : ""}>{label}</a>
            ))}
          </nav>
          <span class="who">
            <span id="account">{s.account}</span> · <span id="role">{s.role}</span>
            <form method="post" action="/logout">
              <Csrf session={s} />
              <button type="submit">Log out</button>
            </form>
          </span>
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A table's head row; a column named with a trailing " #" is numeric (right-aligned). */
export function Head(props: { cols: string[] }) {
  return (
    <tr>
      {props.cols.map((c) =>
        c.endsWith(" #") ? <th key={c} class="n">{c.slice(0, -2)}</th> : <th key={c}>{c}</th>
      )}
    </tr>
  );
}

/** Fen as yuan with two decimals. */
export function yuan(fen: number): string {
  const s = fen < 0 ? "-" : "";
  const a = Math.abs(fen);
  return `${s}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

/** A query string from the defined values. */
export function qs(o: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}
