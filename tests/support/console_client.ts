/** A browser-like client of the console's app (`app.request`), for the tests without a browser. */
import type { consoleApp } from "../../console/app.tsx";

type App = ReturnType<typeof consoleApp>;

/** A browser-like client: keeps the session cookie, reads the CSRF token of each page. */
export class Client {
  cookie = "";
  csrf = "";
  constructor(readonly app: App) {}
  async get(path: string) {
    const r = await this.app.request(path, { headers: { cookie: this.cookie } });
    this.#take(r);
    const text = await r.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1];
    return { status: r.status, text, location: r.headers.get("location") };
  }
  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const r = await this.app.request(path, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: {
        cookie: this.cookie,
        "content-type": "application/x-www-form-urlencoded",
        ...headers,
      },
    });
    this.#take(r);
    return { status: r.status, text: await r.text(), location: r.headers.get("location") };
  }
  #take(r: Response) {
    const c = r.headers.get("set-cookie");
    const m = c ? /icfare_console=([^;]*)/.exec(c) : null;
    if (m) this.cookie = `icfare_console=${m[1]}`;
  }
  async logIn(name: string, password: string) {
    await this.get("/login");
    return await this.post("/login", { _csrf: this.csrf, name, password });
  }
}
