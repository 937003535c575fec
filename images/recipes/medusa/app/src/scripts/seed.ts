// The store's seed: `medusa exec ./src/scripts/seed.js`, run by `storestack-medusa setup` after
// `medusa db:migrate`. It makes what a shop needs to sell in one currency and one country:
//   store currency + default sales channel, a region (currency, country, pp_system_default), a tax
//   region, a publishable API key on the sales channel, a stock location on the sales channel and
//   the manual fulfillment provider, a fulfillment set with a service zone for the country, a flat
//   shipping option (5.00) and, when MEDUSA_SAMPLE_PRODUCT=true, one published "Sample product"
//   (SKU SAMPLE-1, 12.00, 100 in stock).
// Idempotent: the store's default region is set last and marks the store as seeded; a run on a
// seeded store changes nothing (it only checks the country and currency still match). A run after a
// crash (the Job is retried) redoes each step whose result is missing, found by the names in
// ../storestack/names.ts or by the country, and replaces a shipping option or the sample product
// that a killed workflow left half made (no price, no stock item, no sales channel). GET
// /storestack/storefront answers once the store is seeded. Settings: MEDUSA_SHOP_TITLE,
// MEDUSA_CURRENCY (ISO 4217), MEDUSA_COUNTRY (ISO 3166 alpha-2), MEDUSA_SAMPLE_PRODUCT (true/false),
// all read by the first complete run only; later changes to them are ignored (currency and country
// changes are refused).
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, Modules, ProductStatus } from "@medusajs/framework/utils"
import {
  createApiKeysWorkflow,
  createInventoryLevelsWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createSalesChannelsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  createStoresWorkflow,
  createTaxRegionsWorkflow,
  deleteProductsWorkflow,
  deleteShippingOptionsWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateRegionsWorkflow,
  updateStoresWorkflow,
} from "@medusajs/medusa/core-flows"
import {
  FULFILLMENT_SET_NAME,
  MANUAL_FULFILLMENT_PROVIDER,
  SAMPLE_PRODUCT_HANDLE,
  SAMPLE_VARIANT_SKU,
  SHIPPING_OPTION_NAME,
  STOCK_LOCATION_NAME,
  STOREFRONT_KEY_TITLE,
  SYSTEM_PAYMENT_PROVIDER,
  SYSTEM_TAX_PROVIDER,
} from "../storestack/names"

const SHIPPING_PRICE = 5
const SAMPLE_PRICE = 12
const SAMPLE_STOCK = 100

/** The ids (or another string field) of a query.graph relation, whose entries may be null. */
function ids(list: unknown, field = "id"): string[] {
  if (!Array.isArray(list)) {
    return []
  }
  return list.flatMap((x) => (x && typeof x[field] === "string" ? [x[field] as string] : []))
}

type Settings = { title: string; currency: string; country: string; sample: boolean }

function settings(): Settings {
  const env = process.env
  const title = (env.MEDUSA_SHOP_TITLE || "Storestack shop").trim()
  const currency = (env.MEDUSA_CURRENCY || "").trim().toLowerCase()
  const country = (env.MEDUSA_COUNTRY || "").trim().toLowerCase()
  const sample = (env.MEDUSA_SAMPLE_PRODUCT || "false").trim().toLowerCase()
  if (!/^[a-z]{3}$/.test(currency)) {
    throw new Error(`MEDUSA_CURRENCY must be an ISO 4217 code such as EUR (got ${JSON.stringify(currency)})`)
  }
  if (!/^[a-z]{2}$/.test(country)) {
    throw new Error(`MEDUSA_COUNTRY must be an ISO 3166 alpha-2 code such as DE (got ${JSON.stringify(country)})`)
  }
  if (sample !== "true" && sample !== "false") {
    throw new Error(`MEDUSA_SAMPLE_PRODUCT must be true or false (got ${JSON.stringify(sample)})`)
  }
  return { title, currency, country, sample: sample === "true" }
}

export default async function seed({ container }: ExecArgs): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const link = container.resolve(ContainerRegistrationKeys.LINK)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const storeModule = container.resolve(Modules.STORE)
  const salesChannelModule = container.resolve(Modules.SALES_CHANNEL)
  const regionModule = container.resolve(Modules.REGION)
  const currencyModule = container.resolve(Modules.CURRENCY)
  const taxModule = container.resolve(Modules.TAX)
  const apiKeyModule = container.resolve(Modules.API_KEY)
  const stockLocationModule = container.resolve(Modules.STOCK_LOCATION)
  const fulfillmentModule = container.resolve(Modules.FULFILLMENT)
  const inventoryModule = container.resolve(Modules.INVENTORY)

  const want = settings()
  const changes: string[] = []
  const changed = (what: string) => {
    changes.push(what)
    logger.info(`storestack seed: ${what}`)
  }

  // The currency and country must be ones Medusa knows (its modules load the ISO lists).
  if ((await currencyModule.listCurrencies({ code: [want.currency] })).length === 0) {
    throw new Error(`MEDUSA_CURRENCY ${want.currency.toUpperCase()} is not a currency Medusa knows`)
  }
  const [country] = await regionModule.listCountries({ iso_2: want.country })
  if (!country) {
    throw new Error(`MEDUSA_COUNTRY ${want.country.toUpperCase()} is not a country Medusa knows`)
  }

  // Store and its default sales channel (Medusa's loaders usually made both already).
  let [store] = await storeModule.listStores({}, { relations: ["supported_currencies"], take: 1 })
  if (!store) {
    const { result } = await createStoresWorkflow(container).run({
      input: { stores: [{ name: want.title, supported_currencies: [{ currency_code: want.currency, is_default: true }] }] },
    })
    changed(`created store ${result[0].id}`)
    ;[store] = await storeModule.listStores({ id: [result[0].id] }, { relations: ["supported_currencies"] })
  }
  if (store.default_region_id) {
    // Seeded before: the country and currency stay what the first run made them.
    const region = await regionModule.retrieveRegion(store.default_region_id, { relations: ["countries"] })
    const countries = (region.countries ?? []).map((c) => c.iso_2)
    if (region.currency_code !== want.currency || !countries.includes(want.country)) {
      throw new Error(
        `this store was set up for ${countries.join(",").toUpperCase()} in ${region.currency_code.toUpperCase()}; ` +
          `changing to ${want.country.toUpperCase()} in ${want.currency.toUpperCase()} is not supported`
      )
    }
    logger.info(`storestack seed: already seeded (region ${region.id}), nothing to do`)
    return
  }
  let salesChannelId = store.default_sales_channel_id
  if (!salesChannelId || (await salesChannelModule.listSalesChannels({ id: salesChannelId })).length === 0) {
    const [existing] = await salesChannelModule.listSalesChannels({ name: "Default Sales Channel" })
    if (existing) {
      salesChannelId = existing.id
    } else {
      const { result } = await createSalesChannelsWorkflow(container).run({
        input: { salesChannelsData: [{ name: "Default Sales Channel" }] },
      })
      salesChannelId = result[0].id
      changed(`created sales channel ${salesChannelId}`)
    }
  }
  const currencies = store.supported_currencies ?? []
  const currencyOk =
    currencies.length === 1 && currencies[0].currency_code === want.currency && currencies[0].is_default
  if (!currencyOk || store.name !== want.title || store.default_sales_channel_id !== salesChannelId) {
    await updateStoresWorkflow(container).run({
      input: {
        selector: { id: store.id },
        update: {
          name: want.title,
          supported_currencies: [{ currency_code: want.currency, is_default: true }],
          default_sales_channel_id: salesChannelId,
        },
      },
    })
    changed(`store ${store.id}: name, currency ${want.currency}, sales channel ${salesChannelId}`)
  }

  // Region: the one holding the country (a country belongs to at most one region).
  const regions = await regionModule.listRegions({}, { relations: ["countries"] })
  let regionId = regions.find((r) => (r.countries ?? []).some((c) => c.iso_2 === want.country))?.id
  if (!regionId) {
    const { result } = await createRegionsWorkflow(container).run({
      input: {
        regions: [
          {
            name: country.display_name,
            currency_code: want.currency,
            countries: [want.country],
            payment_providers: [SYSTEM_PAYMENT_PROVIDER],
          },
        ],
      },
    })
    regionId = result[0].id
    changed(`created region ${regionId} (${country.display_name}, ${want.currency})`)
  } else {
    const { data } = await query.graph({
      entity: "region",
      fields: ["id", "currency_code", "payment_providers.id"],
      filters: { id: regionId },
    })
    const region = data[0]
    if (region.currency_code !== want.currency) {
      throw new Error(`region ${regionId} for ${want.country.toUpperCase()} uses ${region.currency_code}, not ${want.currency}`)
    }
    const providers = ids(region.payment_providers)
    if (!providers.includes(SYSTEM_PAYMENT_PROVIDER)) {
      await updateRegionsWorkflow(container).run({
        input: {
          selector: { id: regionId },
          update: { payment_providers: [...providers, SYSTEM_PAYMENT_PROVIDER] },
        },
      })
      changed(`region ${regionId}: payment provider ${SYSTEM_PAYMENT_PROVIDER}`)
    }
  }

  // Tax region for the country (Medusa's system provider; no rates, i.e. 0 %).
  const taxRegions = await taxModule.listTaxRegions({ country_code: want.country })
  if (!taxRegions.some((t) => !t.province_code)) {
    await createTaxRegionsWorkflow(container).run({
      input: [{ country_code: want.country, provider_id: SYSTEM_TAX_PROVIDER }],
    })
    changed(`created tax region ${want.country}`)
  }

  // Publishable API key on the sales channel.
  let key = (await apiKeyModule.listApiKeys({ title: STOREFRONT_KEY_TITLE, type: "publishable" })).find(
    (k) => !k.revoked_at
  )
  if (!key) {
    const { result } = await createApiKeysWorkflow(container).run({
      input: { api_keys: [{ title: STOREFRONT_KEY_TITLE, type: "publishable", created_by: "" }] },
    })
    key = result[0]
    changed(`created publishable key ${key.id}`)
  }
  {
    const { data } = await query.graph({
      entity: "api_key",
      fields: ["id", "sales_channels.id"],
      filters: { id: key.id },
    })
    if (!ids(data[0]?.sales_channels).includes(salesChannelId)) {
      await linkSalesChannelsToApiKeyWorkflow(container).run({ input: { id: key.id, add: [salesChannelId] } })
      changed(`linked key ${key.id} to sales channel ${salesChannelId}`)
    }
  }

  // Shipping profile: db:migrate made the default one; make it if it is gone.
  let [profile] = await fulfillmentModule.listShippingProfiles({ type: "default" })
  if (!profile) {
    const { result } = await createShippingProfilesWorkflow(container).run({
      input: { data: [{ name: "Default Shipping Profile", type: "default" }] },
    })
    profile = result[0]
    changed(`created shipping profile ${profile.id}`)
  }

  // Fulfillment set with a service zone for the country.
  let [fulfillmentSet] = await fulfillmentModule.listFulfillmentSets(
    { name: FULFILLMENT_SET_NAME },
    { relations: ["service_zones", "service_zones.geo_zones"] }
  )
  if (!fulfillmentSet) {
    fulfillmentSet = await fulfillmentModule.createFulfillmentSets({ name: FULFILLMENT_SET_NAME, type: "shipping" })
    changed(`created fulfillment set ${fulfillmentSet.id}`)
  }
  let zone = (fulfillmentSet.service_zones ?? []).find((z) =>
    (z.geo_zones ?? []).some((g) => g.type === "country" && g.country_code === want.country)
  )
  if (!zone) {
    zone = await fulfillmentModule.createServiceZones({
      name: `${FULFILLMENT_SET_NAME}: ${country.display_name}`,
      fulfillment_set_id: fulfillmentSet.id,
      geo_zones: [{ type: "country", country_code: want.country }],
    })
    changed(`created service zone ${zone.id}`)
  }

  // Stock location, linked to the sales channel, the manual provider and the fulfillment set.
  let [location] = await stockLocationModule.listStockLocations({ name: STOCK_LOCATION_NAME })
  if (!location) {
    const { result } = await createStockLocationsWorkflow(container).run({
      input: {
        locations: [{ name: STOCK_LOCATION_NAME, address: { address_1: want.title, country_code: want.country } }],
      },
    })
    location = result[0]
    changed(`created stock location ${location.id}`)
  }
  {
    const { data } = await query.graph({
      entity: "stock_location",
      fields: ["id", "sales_channels.id", "fulfillment_providers.id", "fulfillment_sets.id"],
      filters: { id: location.id },
    })
    if (!ids(data[0]?.sales_channels).includes(salesChannelId)) {
      await linkSalesChannelsToStockLocationWorkflow(container).run({ input: { id: location.id, add: [salesChannelId] } })
      changed(`linked stock location ${location.id} to sales channel ${salesChannelId}`)
    }
    if (!ids(data[0]?.fulfillment_providers).includes(MANUAL_FULFILLMENT_PROVIDER)) {
      await link.create({
        [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
        [Modules.FULFILLMENT]: { fulfillment_provider_id: MANUAL_FULFILLMENT_PROVIDER },
      })
      changed(`linked stock location ${location.id} to ${MANUAL_FULFILLMENT_PROVIDER}`)
    }
    if (!ids(data[0]?.fulfillment_sets).includes(fulfillmentSet.id)) {
      await link.create({
        [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
        [Modules.FULFILLMENT]: { fulfillment_set_id: fulfillmentSet.id },
      })
      changed(`linked stock location ${location.id} to fulfillment set ${fulfillmentSet.id}`)
    }
  }

  // Flat shipping option in the service zone (one a killed workflow left without prices is replaced).
  const options = await fulfillmentModule.listShippingOptions({
    name: SHIPPING_OPTION_NAME,
    service_zone: { id: zone.id },
  })
  let optionOk = false
  for (const option of options) {
    const { data } = await query.graph({
      entity: "shipping_option",
      fields: ["id", "price_set_link.price_set.prices.currency_code"],
      filters: { id: option.id },
    })
    const priceSet = (data[0] as { price_set_link?: { price_set?: { prices?: unknown } } } | undefined)?.price_set_link
    if (ids(priceSet?.price_set?.prices, "currency_code").includes(want.currency)) {
      optionOk = true
    } else {
      await deleteShippingOptionsWorkflow(container).run({ input: { ids: [option.id] } })
      changed(`deleted shipping option ${option.id}: it has no ${want.currency} price`)
    }
  }
  if (!optionOk) {
    const { result } = await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: SHIPPING_OPTION_NAME,
          price_type: "flat",
          provider_id: MANUAL_FULFILLMENT_PROVIDER,
          service_zone_id: zone.id,
          shipping_profile_id: profile.id,
          type: { label: "Standard", description: "Flat-rate delivery", code: "standard" },
          prices: [
            { currency_code: want.currency, amount: SHIPPING_PRICE },
            { region_id: regionId, amount: SHIPPING_PRICE },
          ],
          rules: [
            { attribute: "enabled_in_store", value: "true", operator: "eq" },
            { attribute: "is_return", value: "false", operator: "eq" },
          ],
        },
      ],
    })
    changed(`created shipping option ${result[0].id}`)
  }

  // The sample product and its stock at the location.
  if (want.sample) {
    const { data: products } = await query.graph({
      entity: "product",
      fields: ["id", "sales_channels.id", "variants.sku", "variants.price_set.id", "variants.inventory_items.inventory_item_id"],
      filters: { handle: SAMPLE_PRODUCT_HANDLE },
    })
    let product: (typeof products)[number] | undefined = products[0]
    if (product) {
      // createProductsWorkflow links the channel, prices and stock item after making the product.
      const variant = (product.variants ?? []).find((v) => v?.sku === SAMPLE_VARIANT_SKU)
      const complete =
        ids(product.sales_channels).includes(salesChannelId) &&
        !!variant?.price_set?.id &&
        ids(variant?.inventory_items, "inventory_item_id").length > 0
      if (!complete) {
        await deleteProductsWorkflow(container).run({ input: { ids: [product.id] } })
        changed(`deleted product ${product.id}: a killed run left it half made`)
        product = undefined
      }
    }
    if (!product) {
      // A stock item made for a variant that is gone would hold the SKU.
      const orphans = (await inventoryModule.listInventoryItems({ sku: SAMPLE_VARIANT_SKU })).map((i) => i.id)
      if (orphans.length) {
        const { data: linked } = await query.graph({
          entity: "inventory_item",
          fields: ["id", "variants.id"],
          filters: { id: orphans },
        })
        const unused = linked.filter((i) => ids(i.variants).length === 0).map((i) => i.id)
        if (unused.length) {
          await inventoryModule.deleteInventoryItems(unused)
          changed(`deleted stock item(s) ${unused.join(", ")} of ${SAMPLE_VARIANT_SKU} left without a variant`)
        }
      }
      const { result } = await createProductsWorkflow(container).run({
        input: {
          products: [
            {
              title: "Sample product",
              handle: SAMPLE_PRODUCT_HANDLE,
              description: "A product to try the shop with.",
              status: ProductStatus.PUBLISHED,
              shipping_profile_id: profile.id,
              options: [{ title: "Variant", values: ["Default"] }],
              variants: [
                {
                  title: "Default",
                  sku: SAMPLE_VARIANT_SKU,
                  manage_inventory: true,
                  options: { Variant: "Default" },
                  prices: [{ currency_code: want.currency, amount: SAMPLE_PRICE }],
                },
              ],
              sales_channels: [{ id: salesChannelId }],
            },
          ],
        },
      })
      changed(`created product ${result[0].id} (${SAMPLE_PRODUCT_HANDLE})`)
    }
    const { data: items } = await query.graph({
      entity: "inventory_item",
      fields: ["id", "location_levels.location_id"],
      filters: { sku: SAMPLE_VARIANT_SKU },
    })
    const item = items[0]
    if (!item) {
      throw new Error(`no inventory item for SKU ${SAMPLE_VARIANT_SKU} (was the variant made without managed inventory?)`)
    }
    if (!ids(item.location_levels, "location_id").includes(location.id)) {
      await createInventoryLevelsWorkflow(container).run({
        input: {
          inventory_levels: [{ inventory_item_id: item.id, location_id: location.id, stocked_quantity: SAMPLE_STOCK }],
        },
      })
      changed(`stocked ${SAMPLE_STOCK} of ${SAMPLE_VARIANT_SKU} at ${location.id}`)
    }
  }

  // Last: the default region and location mark the store as set up (GET /storestack/storefront).
  const [current] = await storeModule.listStores({ id: [store.id] })
  if (current.default_region_id !== regionId || current.default_location_id !== location.id) {
    await updateStoresWorkflow(container).run({
      input: { selector: { id: store.id }, update: { default_region_id: regionId, default_location_id: location.id } },
    })
    changed(`store ${store.id}: default region ${regionId}, default location ${location.id}`)
  }

  logger.info(
    `storestack seed: ${changes.length ? `done, ${changes.length} change(s)` : "already seeded, nothing to do"} ` +
      `(region ${regionId}, sales channel ${salesChannelId}, key ${key.id}, location ${location.id})`
  )
}
