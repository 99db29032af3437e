# cn-tc260-framework: the AI Safety Governance Framework's risk categories and
# tiered, category-based management. Guidance only.
package beian.regimes.cn_tc260_framework

import rego.v1

active if input.public_facing

active if input.research_and_development

# a provider established in mainland China develops or provides AI there, public or not
active if input.provider_location == "CN"

key_sectors := {"government", "critical-infrastructure", "justice", "healthcare", "finance", "transport"}

key_area if {
	active
	input.sector in key_sectors
}

key_area if {
	active
	input.critical_information_infrastructure
}

tier := "key-area" if key_area else := "general" if active else := "out-of-scope"

categories contains "inherent.model-algorithm" if {
	active
	count(input.algorithm_types) > 0
}

categories contains "inherent.data" if {
	active
	input.processes_personal_information
}

categories contains "inherent.data" if {
	active
	input.model_source in {"self-developed", "fine-tuned"}
}

categories contains "inherent.system" if {
	active
	input.model_source in {"open-source-deployed", "filed-model-api", "fine-tuned"}
}

categories contains "application.cyberspace" if {
	active
	input.generative
}

categories contains "application.real-world" if {
	active
	some f in input.deep_synthesis_functions
	f in {"face-swap", "voice-clone", "face-generation"}
}

categories contains "application.real-world" if key_area

categories contains "application.cognitive" if {
	active
	some t in input.algorithm_types
	t in {"personalized-push", "sorting-selection"}
}

categories contains "application.ethical" if {
	active
	input.sector in {"employment", "finance", "justice", "education"}
}

categories contains "application.ethical" if {
	active
	input.automated_decisions
}

obligations contains {"id": "tc260.4.technical-measures", "facts": ["public_facing"]} if input.public_facing

obligations contains {"id": "tc260.4.technical-measures", "facts": ["research_and_development"]} if input.research_and_development

obligations contains {"id": "tc260.5.tiered-management", "facts": ["sector", "critical_information_infrastructure"]} if key_area

obligations contains {"id": "tc260.5.tiered-management", "facts": ["registered_users"]} if {
	input.public_facing
	input.registered_users >= 1000000
}

obligations contains {"id": "tc260.6.developer-guidelines", "facts": ["model_source"]} if {
	active
	input.model_source in {"self-developed", "fine-tuned"}
}

obligations contains {"id": "tc260.6.provider-guidelines", "facts": ["public_facing"]} if input.public_facing

obligations contains {"id": "tc260.6.key-area-users", "facts": ["sector", "critical_information_infrastructure"]} if key_area

notes contains {"id": "guidance-only", "facts": []} if true
