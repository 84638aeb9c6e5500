/**
 * /history.atom and /history.rss: one entry per incident update, newest first, with GUIDs that never
 * change (the update's id), so feed readers show each update once. Everything is escaped: update
 * text is operator- or probe-written.
 */
import type { PageInfo } from "./api.js";
import { html_escape, update_status_words } from "./page.js";
import type { StatusStore } from "./store.js";

export const FEED_ENTRIES = 50;

export function atom_feed(info: PageInfo, store: StatusStore): string {
  const updates = store.recent_updates(FEED_ENTRIES);
  const updated = updates[0]?.created_at ?? new Date(0).toISOString();
  const entries = updates
    .map((u) => {
      const link = `${info.url}/incidents/${u.incident_id}`;
      return `<entry><id>${html_escape(`${link}#${u.id}`)}</id><title>${html_escape(`${u.incident_name}: ${update_status_words(u.status)}`)}</title><updated>${html_escape(u.created_at)}</updated><link rel="alternate" type="text/html" href="${html_escape(link)}"/><content type="text">${html_escape(u.body)}</content></entry>`;
    })
    .join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>${html_escape(`${info.url}/history`)}</id>
<title>${html_escape(`${info.name} status history`)}</title>
<updated>${html_escape(updated)}</updated>
<link rel="self" type="application/atom+xml" href="${html_escape(`${info.url}/history.atom`)}"/>
<link rel="alternate" type="text/html" href="${html_escape(info.url)}"/>
${entries}
</feed>
`;
}

export function rss_feed(info: PageInfo, store: StatusStore): string {
  const updates = store.recent_updates(FEED_ENTRIES);
  const items = updates
    .map((u) => {
      const link = `${info.url}/incidents/${u.incident_id}`;
      return `<item><title>${html_escape(`${u.incident_name}: ${update_status_words(u.status)}`)}</title><link>${html_escape(link)}</link><guid isPermaLink="false">${html_escape(u.id)}</guid><pubDate>${new Date(u.created_at).toUTCString()}</pubDate><description>${html_escape(u.body)}</description></item>`;
    })
    .join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>${html_escape(`${info.name} status history`)}</title>
<link>${html_escape(info.url)}</link>
<description>${html_escape(`Incident updates from the ${info.name} status page`)}</description>
${items}
</channel>
</rss>
`;
}
