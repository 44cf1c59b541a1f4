import type { Html } from '../html.js';

/** What a page handler returns: the layout adds the header, navigation and flash message. */
export interface Page {
  title: string;
  body: Html;
  status?: number;
}
