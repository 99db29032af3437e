# cn-cupl-draft: the CUPL-led scholars' draft AI law: critical-AI tier with extra duties.
package beian.regimes.cn_cupl_draft

import rego.v1

active if input.public_facing

active if input.research_and_development

# a provider established in mainland China develops or provides AI there, public or not
active if input.provider_location == "CN"

critical_facts contains "critical_information_infrastructure" if input.critical_information_infrastructure

critical_facts contains "sector" if input.sector in {"critical-infrastructure", "healthcare", "justice", "employment", "transport"}

large_facts contains "training_compute_flops" if input.training_compute_flops >= 1e25

large_facts contains "parameters" if input.parameters >= 100000000000

large_facts contains "registered_users" if {
	input.general_purpose_model
	input.registered_users >= 100000000
}

critical if {
	active
	count(critical_facts) > 0
}

possibly if {
	active
	not critical
	count(large_facts) > 0
}

tier := "critical-ai" if critical else := "possibly-critical" if possibly else := "general-ai" if active else := "out-of-scope"

categories contains "cii-ai" if {
	critical
	input.critical_information_infrastructure
}

categories contains "high-impact-on-individuals" if {
	critical
	input.sector in {"healthcare", "justice", "employment", "transport"}
}

categories contains "large-foundation-model" if {
	active
	count(large_facts) > 0
}

filings contains {"id": "cupl-registration", "facts": sort(critical_facts)} if critical

obligations contains {"id": "cupl.42.risk-assessment", "facts": ["public_facing"]} if input.public_facing

obligations contains {"id": id, "facts": sort(critical_facts)} if {
	critical
	some id in {"cupl.critical.security-organisation", "cupl.critical.annual-assessment", "cupl.critical.incident-response"}
}

obligations contains {"id": "cupl.foundation.transparency", "facts": sort(large_facts)} if {
	active
	count(large_facts) > 0
}

notes contains {"id": "thresholds-unset", "facts": sort(large_facts)} if count(large_facts) > 0

notes contains {"id": "not-law", "facts": []} if true
