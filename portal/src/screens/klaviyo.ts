import { V3, api } from '../api/client';
import { errorText } from '../api/errors';

/**
 * Klaviyo's OAuth2 consent runs in a window of its own: Klaviyo refuses to be framed, and the
 * portal (perhaps in an iframe) stays where it is, watching the connection turn active.
 * Returns a message when the flow could not start.
 */
export async function startKlaviyoAuthorization(connectionId: number): Promise<string | undefined> {
  // Opened before the request, while the click still counts as the user's: browsers block
  // a window opened later.
  const popup = window.open('about:blank', 'klaviyo-authorization', 'popup,width=600,height=720');
  const result = await api.POST(`${V3}/connections/{id}/authorization`, { params: { path: { id: String(connectionId) } } });
  if (result.error) {
    popup?.close();
    return errorText(result.error);
  }
  const url = result.data.data.authorization_url;
  if (popup) {
    // The consent page need not reach back into the portal.
    popup.opener = null;
    popup.location.href = url;
  }
  else window.open(url, '_blank', 'noopener');
  return undefined;
}
