package admin

// routes are every page and API call, in ServeMux pattern syntax. The
// OpenAPI test checks the /api/ ones against openapi.yaml.
func routes() []route {
	return []route{
		{"GET", "/static/{file}", serveStatic},
		{"GET", "/{$}", dashboardHTML},
		{"GET", "/api/dashboard", dashboardAPI},

		{"GET", "/rules/{kind}", listHTML},
		{"GET", "/rules/{kind}/new", newHTML},
		{"POST", "/rules/{kind}/new", createHTML},
		{"POST", "/rules/{kind}/bulk", bulkHTML},
		{"GET", "/rules/{kind}/{id}", editHTML},
		{"POST", "/rules/{kind}/{id}", updateHTML},
		{"POST", "/rules/{kind}/{id}/active", activeHTML},
		{"GET", "/rules/{kind}/{id}/delete", deleteAskHTML},
		{"POST", "/rules/{kind}/{id}/delete", deleteHTML},
		{"GET", "/rules/{kind}/export", exportRules},
		{"GET", "/rules/{kind}/import", importFormHTML},
		{"POST", "/rules/{kind}/import", importHTML},

		{"GET", "/settings", settingsHTML},
		{"POST", "/settings", saveSettingsHTML},

		{"GET", "/locked", lockedHTML},
		{"POST", "/locked/unlock", unlockHTML},
		{"GET", "/logins", loginsHTML},
		{"GET", "/events", eventsHTML},
		{"GET", "/why", whyHTML},

		{"GET", "/api/locked", lockedAPI},
		{"POST", "/api/unlock", unlockAPI},
		{"GET", "/api/logins", loginsAPI},
		{"GET", "/api/events", eventsAPI},
		{"GET", "/api/why", whyAPI},
		{"GET", "/api/openapi.json", openAPIDoc},
		{"GET", "/api/settings", settingsAPI},
		{"PUT", "/api/settings", putSettingsAPI},
		{"GET", "/api/rules", kindsAPI},
		{"GET", "/api/rules/{kind}", listAPI},
		{"POST", "/api/rules/{kind}", createAPI},
		{"POST", "/api/rules/{kind}/bulk", bulkAPI},
		{"GET", "/api/rules/{kind}/export", exportRules},
		{"POST", "/api/rules/{kind}/import", importAPI},
		{"GET", "/api/rules/{kind}/{id}", getAPI},
		{"PUT", "/api/rules/{kind}/{id}", updateAPI},
		{"DELETE", "/api/rules/{kind}/{id}", deleteAPI},
	}
}
