package admin

// routes are every page and API call, in ServeMux pattern syntax. The
// OpenAPI test checks the /api/ ones against openapi.yaml.
func routes() []route {
	return []route{
		{"GET", "/static/{file}", serveStatic},

		{"GET", "/rules/{kind}", listHTML},
		{"GET", "/rules/{kind}/new", newHTML},
		{"POST", "/rules/{kind}/new", createHTML},
		{"POST", "/rules/{kind}/bulk", bulkHTML},
		{"GET", "/rules/{kind}/{id}", editHTML},
		{"POST", "/rules/{kind}/{id}", updateHTML},
		{"POST", "/rules/{kind}/{id}/active", activeHTML},
		{"GET", "/rules/{kind}/{id}/delete", deleteAskHTML},
		{"POST", "/rules/{kind}/{id}/delete", deleteHTML},
	}
}
