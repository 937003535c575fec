// GET /storestack/storefront: what a storefront needs to call the Store API of this store, i.e. the
// seeded publishable API key (public by design: storefronts embed it), the default region and its
// currency. No authentication; 404 with a JSON message until `storestack-medusa setup` has seeded.
import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { Modules } from "@medusajs/framework/utils"
import { STOREFRONT_KEY_TITLE } from "../../../storestack/names"

export const AUTHENTICATE = false

export async function GET(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  res.setHeader("Cache-Control", "no-store")
  const [store] = await req.scope.resolve(Modules.STORE).listStores({}, { take: 1 })
  const keys = await req.scope
    .resolve(Modules.API_KEY)
    .listApiKeys({ title: STOREFRONT_KEY_TITLE, type: "publishable" })
  const key = keys.find((k) => !k.revoked_at)
  if (!store?.default_region_id || !key) {
    res.status(404).json({ message: "This store is not set up yet: run `storestack-medusa setup`." })
    return
  }
  const region = await req.scope.resolve(Modules.REGION).retrieveRegion(store.default_region_id)
  res.json({ publishable_key: key.token, region_id: region.id, currency_code: region.currency_code })
}
