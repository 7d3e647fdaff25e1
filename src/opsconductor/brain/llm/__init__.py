"""The LLM brain: a model behind an OpenAI-compatible endpoint proposes a plan through one
forced tool call (`propose_plan`); the proposal is validated and then grounded by the stages
after it like the rules brain's decision. A model may propose; it never decides."""
