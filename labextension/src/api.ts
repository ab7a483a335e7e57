/** Calls to the server extension's REST API, authenticated like every JupyterLab request. */
import { ServerConnection } from '@jupyterlab/services';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function get(path: string, query: Record<string, string | number> = {}): Promise<Json> {
  const settings = ServerConnection.makeSettings();
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    params.set(key, String(value));
  }
  const tail = params.toString() ? `?${params.toString()}` : '';
  const url = `${settings.baseUrl}jupyter-mlops/api/${path}${tail}`;
  const response = await ServerConnection.makeRequest(url, {}, settings);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.error || response.statusText);
  }
  return body;
}
